//! Names into comparable tokens: Unicode NFKC, case fold, diacritics and the marks of
//! ʿayn and hamza dropped, Arabic, Hebrew and Cyrillic letters into Latin ones, articles,
//! particles, honorifics and company-form words dropped, `Abd al-X` joined, common
//! spellings of one name part brought to one, and a consonant skeleton per token (the
//! Arabic and Hebrew scripts write no short vowels, so their transliterations are compared
//! with Latin names on consonants).

use crate::limits::MAX_NAME_TOKENS;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// One word of a name as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Latin letters and digits.
    pub form: String,
    /// The consonant skeleton (see [`skeleton`]).
    pub skel: String,
    /// Transliterated from a script that writes no short vowels: compare its skeleton.
    pub vowelless: bool,
    /// A single letter standing for a word.
    pub initial: bool,
    /// Transliterated from Hebrew (otherwise, when `vowelless`, from Arabic).
    pub hebrew: bool,
}

/// A name as compared, and what was done to it (for a match's `why`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalName {
    pub tokens: Vec<Token>,
    pub notes: Vec<String>,
}

impl NormalName {
    /// The forms joined by spaces.
    pub fn text(&self) -> String {
        self.tokens
            .iter()
            .map(|t| t.form.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Arabic,
    Hebrew,
    Cyrillic,
}

fn script_of(c: char) -> Option<Script> {
    match c {
        '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' => {
            Some(Script::Arabic)
        }
        '\u{0590}'..='\u{05FF}' => Some(Script::Hebrew),
        '\u{0400}'..='\u{04FF}' => Some(Script::Cyrillic),
        _ => None,
    }
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '\'' | '’'
            | '‘'
            | 'ʼ'
            | 'ʻ'
            | 'ʿ'
            | 'ʾ'
            | '`'
            | '´'
            | '׳'
            | '״'
            | '"'
            | '“'
            | '”'
            | 'ʽ'
            | 'ʹ'
    ) || c == 'ء'
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '‐' | '‑' | '‒' | '–' | '—' | '־')
}

/// Honorifics and titles, dropped (Latin forms and Arabic and Hebrew words without their
/// article or quotes).
const HONORIFICS: &[&str] = &[
    "sheikh",
    "shaykh",
    "shaikh",
    "sheik",
    "shaik",
    "cheikh",
    "dr",
    "doctor",
    "haj",
    "hajj",
    "hajji",
    "haji",
    "hadj",
    "hadji",
    "mr",
    "mrs",
    "ms",
    "miss",
    "mullah",
    "mulla",
    "maulana",
    "mawlana",
    "imam",
    "prof",
    "professor",
    "gen",
    "general",
    "col",
    "colonel",
    "brig",
    "brigadier",
    "capt",
    "captain",
    "lt",
    "maj",
    "rabbi",
    "rav",
    "sir",
    "ustadh",
    "ustaz",
    "eng",
    "engineer",
    "muhandis",
    "hon",
    "شيخ",
    "حاج",
    "حاجي",
    "دكتور",
    "د",
    "استاذ",
    "مهندس",
    "ملا",
    "امام",
    "العميد",
    "عميد",
    "لواء",
    "عقيد",
    "הרב",
    "רב",
    "דר",
    "מר",
    "גב",
    "פרופ",
    "השייח",
];

/// Company-form words, dropped.
const COMPANY_FORMS: &[&str] = &[
    "llc",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "co",
    "corp",
    "corporation",
    "company",
    "sa",
    "sal",
    "sarl",
    "sas",
    "gmbh",
    "ag",
    "plc",
    "jsc",
    "pjsc",
    "ojsc",
    "cjsc",
    "ooo",
    "oao",
    "zao",
    "pao",
    "fze",
    "fzco",
    "fzc",
    "fzllc",
    "bv",
    "nv",
    "srl",
    "spa",
    "est",
    "establishment",
    "wll",
    "lp",
    "llp",
    "pte",
    "pty",
    "bhd",
    "sdn",
    "as",
    "ab",
    "oy",
    "kg",
    "شركة",
    "شركه",
    "مؤسسة",
    "مؤسسه",
    "موسسة",
    "شمل",
    "ذمم",
    "شمم",
    "محدودة",
    "المحدودة",
    "בעמ",
    "חברת",
    "חברה",
    "ооо",
    "оао",
    "зао",
    "пао",
    "ао",
];

/// Particles between a name and a father's or ancestor's name, dropped.
const PARTICLES: &[&str] = &[
    "bin", "ibn", "ben", "bint", "binti", "bn", "b", "ould", "بن", "ابن", "بنت", "בן", "בת",
];

/// The Arabic article written alone.
const ARTICLES: &[&str] = &["al", "el", "ul", "il"];

/// The article joined by a hyphen, including its assimilated forms (ar-Rahman, ad-Din).
const HYPHEN_ARTICLES: &[&str] = &[
    "al", "el", "ul", "il", "ar", "as", "ash", "ad", "adh", "an", "at", "ath", "az", "er", "es",
    "esh", "ed", "en", "et", "ez", "ur", "us", "ud", "un", "ut", "uz", "ad",
];

/// Spellings of `Abd` before the name it joins.
const ABD: &[&str] = &[
    "abd", "abdul", "abdel", "abdal", "abdu", "abdol", "abdoul", "abdur", "abdar", "abdil", "abdi",
];

/// Glued spellings: `Abdulrahman` → `abd` + `rahman`.
const ABD_GLUED: &[&str] = &[
    "abdoul", "abdul", "abdel", "abdal", "abdol", "abdur", "abdar", "abdil", "abdus", "abdun",
];

/// Common name parts: their Latin spellings, brought to the first, and how the Arabic or
/// Hebrew script writes them. Two different known parts are different names even when
/// their consonants agree (Hasan and Husayn, Hamid and Hamad, Muhammad and Mahmud).
const KNOWN: &[(&[&str], &[&str])] = &[
    (
        &[
            "muhammad",
            "mohammed",
            "mohamed",
            "mohammad",
            "mohamad",
            "muhammed",
            "muhamad",
            "mohamud",
            "mouhamed",
            "mohamet",
            "mahomed",
            "mohd",
            "muhammet",
            "mehmet",
            "mohammud",
            "muhamed",
            "mohummad",
            "mouhammad",
        ],
        &["محمد"],
    ),
    (&["ahmad", "ahmed", "ahmet", "ahmat"], &["أحمد"]),
    (&["mahmud", "mahmoud", "mahmood", "mehmood"], &["محمود"]),
    (
        &[
            "husayn", "hussein", "husain", "hussain", "hussien", "husein", "hosein", "hossein",
            "houssein", "hussin",
        ],
        &["حسين"],
    ),
    (&["hasan", "hassan", "hasen", "hassen"], &["حسن"]),
    (&["umar", "omar", "omer", "oumar"], &["عمر"]),
    (
        &["uthman", "othman", "osman", "usman", "othmane"],
        &["عثمان"],
    ),
    (
        &[
            "yusuf", "youssef", "yousef", "yousuf", "yusef", "youssouf", "yousif", "yusif",
            "yosef", "joseph",
        ],
        &["يوسف", "יוסף"],
    ),
    (&["ibrahim", "ebrahim", "ibraheem", "brahim"], &["إبراهيم"]),
    (
        &["usama", "osama", "oussama", "usamah", "osamah"],
        &["أسامة"],
    ),
    (&["khalid", "khaled", "khaleed"], &["خالد"]),
    (&["said", "saeed", "saeid", "saied", "saiid"], &["سعيد"]),
    (
        &[
            "abdallah", "abdullah", "abdulla", "abdalla", "abdellah", "abdollah", "abdlah",
        ],
        &["عبد الله"],
    ),
    (&["ali", "aly"], &["علي"]),
    (
        &["mustafa", "mostafa", "moustafa", "mustapha", "mostapha"],
        &["مصطفى"],
    ),
    (&["yahya", "yehia", "yahia", "yahiya"], &["يحيى"]),
    (&["jamal", "gamal", "djamel", "jamel"], &["جمال"]),
    (&["kamal", "kemal"], &["كمال"]),
    (&["abu", "abou", "abo"], &["أبو"]),
    (&["hamid", "hamed"], &["حامد"]),
    (&["hamad"], &["حمد"]),
    (&["salih", "saleh"], &["صالح"]),
    (&["salah", "salaheddine"], &["صلاح"]),
    (&["saad", "sad"], &["سعد"]),
    (&["karim", "kareem"], &["كريم"]),
    (&["akram"], &["أكرم"]),
    (&["amr", "amro", "amru"], &["عمرو"]),
    (&["zayd", "zaid", "zeid"], &["زيد"]),
    (&["ziyad", "ziad", "zeyad", "ziyyad"], &["زياد"]),
    (&["nasir", "nasser", "naser", "nassir", "nacer"], &["ناصر"]),
    (&["nasr"], &["نصر"]),
    (&["sami", "samy"], &["سامي"]),
    (&["samir", "sameer", "samer"], &["سمير"]),
    (&["khalil", "khaleel"], &["خليل"]),
    (&["majid", "majed", "maged"], &["ماجد"]),
    (&["hashim", "hashem", "hachem"], &["هاشم"]),
    (&["qasim", "kassem", "qassem", "kasim", "qassim"], &["قاسم"]),
    (&["fadi", "fady"], &["فادي"]),
    (&["hadi", "hady"], &["هادي"]),
    (&["hani", "hany"], &["هاني"]),
    (&["anas"], &["أنس"]),
    (&["ayman", "aiman", "eyman"], &["أيمن"]),
    (&["amir", "ameer"], &["أمير"]),
    (&["amin", "ameen"], &["أمين"]),
    (&["iman", "eman"], &["إيمان"]),
    (&["fatima", "fatma", "fatimah", "fatemeh"], &["فاطمة"]),
    (&["aisha", "aicha", "ayesha", "aysha"], &["عائشة"]),
    (&["hamza", "hamzah", "hamze"], &["حمزة"]),
    (&["ismail", "ismael", "esmail"], &["إسماعيل"]),
    (&["abbas"], &["عباس"]),
    (&["awad", "awwad"], &["عوض"]),
    (
        &["sulayman", "suleiman", "sulaiman", "soliman", "suleyman"],
        &["سليمان"],
    ),
    (&["yasir", "yasser", "yaser"], &["ياسر"]),
    (&["nasrallah", "nasrullah"], &[]),
    (
        &[
            "yitzhak", "yitzchak", "itzhak", "itzchak", "yitshak", "isaac",
        ],
        &["יצחק"],
    ),
    (&["moshe", "moses"], &["משה"]),
    (&["avraham", "abraham"], &["אברהם"]),
    (&["yaakov", "yaacov", "yakov", "jacob"], &["יעקב"]),
    (&["david", "dawid"], &["דוד"]),
    (&["daniel"], &["דניאל"]),
    (&["meir", "meyer", "mayer"], &["מאיר"]),
    (&["shimon", "simon", "shimeon"], &["שמעון"]),
    (&["shmuel", "samuel"], &["שמואל"]),
    (&["aharon", "aaron", "aron"], &["אהרון"]),
    (&["amos"], &["עמוס"]),
    (&["levi", "levy"], &["לוי"]),
    (&["cohen", "kohen", "cohn", "kohn"], &["כהן"]),
];

/// The index of the known part a Latin form is a spelling of.
fn known_latin(form: &str) -> Option<u16> {
    KNOWN
        .iter()
        .position(|(latin, _)| latin.contains(&form))
        .and_then(|i| u16::try_from(i).ok())
}

/// The forms the script spellings of known parts transliterate to, with their index.
fn known_script_forms() -> &'static [(String, u16)] {
    static FORMS: std::sync::OnceLock<Vec<(String, u16)>> = std::sync::OnceLock::new();
    FORMS.get_or_init(|| {
        let mut out = Vec::new();
        for (i, (_, scripts)) in KNOWN.iter().enumerate() {
            for s in *scripts {
                let n = normalize_name(s);
                if let [t] = n.tokens.as_slice()
                    && let Ok(i) = u16::try_from(i)
                {
                    out.push((t.form.clone(), i));
                }
            }
        }
        out
    })
}

/// The known part a token is, if any (by its Latin spelling, or by its transliteration
/// from the script).
/// The Latin spellings of a known part.
pub(crate) fn known_spellings(id: u16) -> &'static [&'static str] {
    KNOWN.get(usize::from(id)).map_or(&[], |(latin, _)| latin)
}

pub(crate) fn known_part(t: &Token) -> Option<u16> {
    if t.vowelless {
        known_script_forms()
            .iter()
            .find(|(f, _)| *f == t.form)
            .map(|(_, i)| *i)
    } else {
        known_latin(&t.form)
    }
}

/// The consonant skeleton of a Latin form: digraphs to one letter (kh, sh/ch, th, dh,
/// gh, ph, tz/ts, dj), classes of consonants that the scripts and spellings confuse to one
/// (q/k/c, g/j, v/b, p/f), vowels, `w`, `y` and a final `h` dropped, doubled letters once.
pub fn skeleton(form: &str) -> String {
    let (skel, _) = skeleton_and_vowels(form);
    if skel.is_empty() {
        // A name of vowels only ("Aya"): its form is its skeleton.
        return form.to_string();
    }
    skel
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'w')
}

/// The skeleton and the vowel letters around its consonants (one cluster before each
/// consonant and one after the last).
fn skeleton_and_vowels(form: &str) -> (String, Vec<Vec<u8>>) {
    let b = form.as_bytes();
    let mut mapped: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let two = if i + 1 < b.len() {
            [b[i], b[i + 1]]
        } else {
            [b[i], 0]
        };
        let (c, step) = match &two {
            b"kh" => (b'x', 2),
            b"sh" | b"ch" => (b'$', 2),
            b"th" => (b't', 2),
            b"dh" => (b'd', 2),
            b"gh" => (b'j', 2),
            b"ph" => (b'f', 2),
            b"tz" | b"ts" => (b's', 2),
            b"dj" => (b'j', 2),
            b"ck" => (b'k', 2),
            _ => (
                match b[i] {
                    b'q' | b'c' => b'k',
                    b'g' => b'j',
                    b'v' => b'b',
                    b'p' => b'f',
                    other => other,
                },
                1,
            ),
        };
        mapped.push(c);
        i += step;
    }
    if mapped.len() > 1 && mapped.last() == Some(&b'h') {
        mapped.pop();
    }
    let mut out = String::with_capacity(mapped.len());
    let mut vowels: Vec<Vec<u8>> = vec![Vec::new()];
    let mut last = 0u8;
    for c in mapped {
        if is_vowel(c) {
            if let Some(v) = vowels.last_mut() {
                v.push(c);
            }
            continue;
        }
        // A doubled consonant is written once (Muhammad, Hassan); one repeated after a
        // vowel is written again (Layla).
        let after_vowel = vowels.last().is_some_and(|v| !v.is_empty());
        if c != last || after_vowel {
            out.push(char::from(c));
            vowels.push(Vec::new());
        }
        last = c;
    }
    (out, vowels)
}

/// Whether two Latin spellings with the same skeleton agree on their vowels, where both
/// write some: `a`, `i`/`y` and `o`/`u`/`w` are three classes and `e` stands for `a` or
/// `i`; every class one spelling writes between two consonants must be written by the
/// other. So Hamid is not Hamad, nor Karim Akram, while Kassem is Qasim.
pub(crate) fn latin_vowels_agree(a: &str, b: &str) -> bool {
    let (sa, va) = skeleton_and_vowels(a);
    let (sb, vb) = skeleton_and_vowels(b);
    if sa != sb || va.len() != vb.len() {
        return true;
    }
    fn classes(v: &[u8]) -> (u8, u8) {
        let (mut definite, mut any) = (0u8, 0u8);
        for c in v {
            let (d, x) = match c {
                b'a' => (CLASS_A, CLASS_A),
                b'i' | b'y' => (CLASS_Y, CLASS_Y),
                b'o' | b'u' | b'w' => (CLASS_W, CLASS_W),
                b'e' => (0, CLASS_A | CLASS_Y),
                _ => (0, 0),
            };
            definite |= d;
            any |= x;
        }
        (definite, any)
    }
    va.iter().zip(&vb).all(|(x, y)| {
        if x.is_empty() || y.is_empty() {
            return true;
        }
        let (dx, ax) = classes(x);
        let (dy, ay) = classes(y);
        dx & !ay == 0 && dy & !ax == 0
    })
}

const CLASS_A: u8 = 1;
const CLASS_Y: u8 = 2;
const CLASS_W: u8 = 4;

fn latin_classes(v: &[u8]) -> (u8, u8) {
    let mut has = 0;
    for c in v {
        has |= match c {
            b'a' => CLASS_A,
            b'e' => CLASS_A | CLASS_Y,
            b'i' | b'y' => CLASS_Y,
            b'o' | b'u' | b'w' => CLASS_W,
            _ => 0,
        };
    }
    let mut strong = 0;
    for w in v.windows(2) {
        strong |= match w {
            b"ei" | b"ay" | b"ai" | b"ee" | b"ey" | b"ie" | b"iy" => CLASS_Y,
            b"ou" | b"oo" | b"aw" | b"ow" | b"uu" => CLASS_W,
            _ => 0,
        };
    }
    (has, strong)
}

/// Whether a transliteration from Arabic or Hebrew (which write long vowels) and a Latin
/// spelling with the same skeleton agree on long vowels: a long vowel written in the
/// script must show in the Latin spelling, and a Latin digraph for a long vowel ("ei",
/// "ou") must be written in the script. So حسين (Husayn) is not Hasan.
pub(crate) fn long_vowels_agree(script_form: &str, latin_form: &str) -> bool {
    let (sa, va) = skeleton_and_vowels(script_form);
    let (sl, vl) = skeleton_and_vowels(latin_form);
    if sa != sl || va.len() != vl.len() {
        return true;
    }
    for (k, (a, l)) in va.iter().zip(&vl).enumerate() {
        let mut need = 0;
        for c in a {
            need |= match c {
                // A word's first alef carries whatever vowel begins it.
                b'a' if k > 0 => CLASS_A,
                b'y' => CLASS_Y,
                b'w' | b'o' => CLASS_W,
                _ => 0,
            };
        }
        let (has, strong) = latin_classes(l);
        if need & !has != 0 || strong & !need != 0 {
            return false;
        }
    }
    true
}

fn arabic_letter(c: char) -> &'static str {
    match c {
        'ا' | 'ٱ' | 'ى' => "a",
        'ب' => "b",
        'ت' => "t",
        'ث' => "th",
        'ج' => "j",
        'ح' => "h",
        'خ' => "kh",
        'د' => "d",
        'ذ' => "dh",
        'ر' => "r",
        'ز' => "z",
        'س' => "s",
        'ش' => "sh",
        'ص' => "s",
        'ض' => "d",
        'ط' => "t",
        'ظ' => "z",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' | 'ک' => "k",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'ه' | 'ة' => "h",
        'و' => "w",
        'ي' | 'ی' => "y",
        'پ' => "p",
        'چ' => "ch",
        'ژ' => "zh",
        'گ' => "g",
        '٠' | '۰' => "0",
        '١' | '۱' => "1",
        '٢' | '۲' => "2",
        '٣' | '۳' => "3",
        '٤' | '۴' => "4",
        '٥' | '۵' => "5",
        '٦' | '۶' => "6",
        '٧' | '۷' => "7",
        '٨' | '۸' => "8",
        '٩' | '۹' => "9",
        _ => "",
    }
}

fn hebrew_word(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let geresh = chars
            .get(i + 1)
            .is_some_and(|n| matches!(n, '׳' | '\'' | '’'));
        let s: &str = match c {
            'ג' if geresh => "j",
            'ז' if geresh => "zh",
            'צ' | 'ץ' if geresh => "ch",
            'א' => "a",
            'ב' => "b",
            'ג' => "g",
            'ד' => "d",
            'ה' => "h",
            'ו' => {
                if chars.get(i + 1) == Some(&'ו') {
                    i += 1;
                    "v"
                } else if i == 0 {
                    "v"
                } else {
                    "o"
                }
            }
            'ז' => "z",
            'ח' => "h",
            'ט' => "t",
            'י' => "y",
            'כ' | 'ך' | 'ק' => "k",
            'ל' => "l",
            'מ' | 'ם' => "m",
            'נ' | 'ן' => "n",
            'ס' => "s",
            'פ' => "p",
            'ף' => "f",
            'צ' | 'ץ' => "ts",
            'ר' => "r",
            'ש' => "sh",
            'ת' => "t",
            _ => "",
        };
        out.push_str(s);
        i += 1;
    }
    out
}

fn cyrillic_letter(c: char) -> &'static str {
    match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'й' | 'ы' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ю' => "yu",
        'я' => "ya",
        'є' => "ye",
        'ї' => "yi",
        _ => "",
    }
}

/// Latin letters that have no decomposition into a base letter and a mark.
fn latin_letter(c: char, out: &mut String) {
    match c {
        'ß' => out.push_str("ss"),
        'æ' => out.push_str("ae"),
        'œ' => out.push_str("oe"),
        'ø' => out.push('o'),
        'đ' | 'ð' => out.push('d'),
        'þ' => out.push_str("th"),
        'ł' => out.push('l'),
        'ı' => out.push('i'),
        'ħ' => out.push('h'),
        'ŋ' => out.push('n'),
        c if c.is_ascii_alphanumeric() => out.push(c),
        c if c.is_alphanumeric() => out.push(c),
        _ => {}
    }
}

/// A word is an abbreviation when it is single letters each followed by a dot ("s.a.l.").
fn is_dotted_abbreviation(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| p.chars().count() <= 1)
        && parts.iter().filter(|p| !p.is_empty()).count() >= 2
}

struct Piece {
    text: String,
    script: Script,
}

fn in_set(set: &[&str], w: &str) -> bool {
    set.contains(&w)
}

/// The text folded: NFKC, lower case, combining marks dropped (Latin diacritics, Arabic
/// harakat and the hamza on its carrier, Hebrew points), tatweel dropped.
fn fold(raw: &str) -> String {
    // ASCII is its own NFKC form and carries no marks.
    if raw.is_ascii() {
        return raw.to_ascii_lowercase();
    }
    let lower: String = raw.nfkc().collect::<String>().to_lowercase();
    lower
        .nfd()
        .filter(|c| !is_combining_mark(*c) && *c != 'ـ' && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
        .collect()
}

fn split_pieces(folded: &str, notes: &mut Vec<String>) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let cleaned: String = folded
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || is_quote(c) || is_dash(c) || c == '.' {
                c
            } else {
                ' '
            }
        })
        .collect();
    for word in cleaned.split_whitespace() {
        let script = word.chars().find_map(script_of).unwrap_or(Script::Latin);
        if script == Script::Hebrew {
            let bare: String = word
                .chars()
                .filter(|c| !is_quote(*c) && *c != '.')
                .collect();
            if in_set(COMPANY_FORMS, &bare) || in_set(HONORIFICS, &bare) {
                notes.push(format!("dropped '{word}'"));
                continue;
            }
        }
        let mut word: String = if script == Script::Hebrew {
            word.to_string()
        } else {
            word.chars().filter(|c| !is_quote(*c)).collect()
        };
        if is_dotted_abbreviation(&word) {
            word.retain(|c| c != '.');
        }
        if script == Script::Latin
            && let Some((head, rest)) = word.split_once(is_dash)
            && in_set(HYPHEN_ARTICLES, head)
            && !rest.is_empty()
        {
            notes.push(format!("dropped '{head}-'"));
            word = rest.to_string();
        }
        for part in word.split(|c: char| is_dash(c) || c == '.') {
            if part.is_empty() || part.chars().all(is_quote) {
                continue;
            }
            let script = part.chars().find_map(script_of).unwrap_or(Script::Latin);
            pieces.push(Piece {
                text: part.to_string(),
                script,
            });
        }
    }
    pieces
}

struct Raw {
    form: String,
    vowelless: bool,
    hebrew: bool,
}

fn latin_of(p: &Piece, notes: &mut Vec<String>) -> Option<Raw> {
    match p.script {
        Script::Arabic => {
            let mut w = p.text.as_str();
            let bare = w.strip_prefix("ال").filter(|r| r.chars().count() >= 2);
            if in_set(HONORIFICS, w)
                || in_set(COMPANY_FORMS, w)
                || bare.is_some_and(|b| in_set(HONORIFICS, b) || in_set(COMPANY_FORMS, b))
            {
                notes.push(format!("dropped '{w}'"));
                return None;
            }
            if in_set(PARTICLES, w) || w == "ال" {
                notes.push(format!("dropped '{w}'"));
                return None;
            }
            let mut form = String::new();
            if w == "عبد" {
                notes.push(format!("ar→latin '{w}'→'abd'"));
                return Some(Raw {
                    form: "abd".into(),
                    vowelless: true,
                    hebrew: false,
                });
            }
            if let Some(rest) = w.strip_prefix("عبد").filter(|r| r.chars().count() >= 2) {
                form.push_str("abd");
                w = rest;
            }
            if let Some(b) = w.strip_prefix("ال").filter(|r| r.chars().count() >= 2) {
                notes.push("dropped 'ال'".to_string());
                w = b;
            }
            for c in w.chars() {
                form.push_str(arabic_letter(c));
            }
            if form.is_empty() {
                return None;
            }
            notes.push(format!("ar→latin '{}'→'{form}'", p.text));
            Some(Raw {
                form,
                vowelless: true,
                hebrew: false,
            })
        }
        Script::Hebrew => {
            let bare: String = p.text.chars().filter(|c| !is_quote(*c)).collect();
            if in_set(PARTICLES, &bare) {
                notes.push(format!("dropped '{}'", p.text));
                return None;
            }
            let form = hebrew_word(&p.text);
            if form.is_empty() {
                return None;
            }
            notes.push(format!("he→latin '{}'→'{form}'", p.text));
            Some(Raw {
                form,
                vowelless: true,
                hebrew: true,
            })
        }
        Script::Cyrillic => {
            if in_set(COMPANY_FORMS, &p.text) {
                notes.push(format!("dropped '{}'", p.text));
                return None;
            }
            let form: String = p.text.chars().map(cyrillic_letter).collect();
            if form.is_empty() {
                return None;
            }
            notes.push(format!("ru→latin '{}'→'{form}'", p.text));
            Some(Raw {
                form,
                vowelless: false,
                hebrew: false,
            })
        }
        Script::Latin => {
            let mut form = String::new();
            for c in p.text.chars() {
                latin_letter(c, &mut form);
            }
            if form.is_empty() {
                return None;
            }
            if in_set(HONORIFICS, &form) {
                notes.push(format!("dropped honorific '{form}'"));
                return None;
            }
            if in_set(COMPANY_FORMS, &form) {
                notes.push(format!("dropped company form '{form}'"));
                return None;
            }
            if in_set(PARTICLES, &form) || in_set(ARTICLES, &form) {
                notes.push(format!("dropped '{form}'"));
                return None;
            }
            Some(Raw {
                form,
                vowelless: false,
                hebrew: false,
            })
        }
    }
}

fn canonical(form: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(latin, _)| latin.contains(&form))
        .map(|(latin, _)| latin[0])
}

/// The name as compared: its tokens and what was done to reach them.
pub fn normalize_name(raw: &str) -> NormalName {
    let mut notes = Vec::new();
    let folded = fold(raw);
    let pieces = split_pieces(&folded, &mut notes);
    let mut raws: Vec<Raw> = pieces
        .iter()
        .filter_map(|p| latin_of(p, &mut notes))
        .collect();
    if raws.is_empty() {
        // Nothing but dropped words (a company called "Trading Co", say "Co"): keep them.
        notes.clear();
        raws = pieces
            .iter()
            .filter_map(|p| {
                let mut form = String::new();
                match p.script {
                    Script::Latin => p.text.chars().for_each(|c| latin_letter(c, &mut form)),
                    Script::Arabic => p.text.chars().for_each(|c| form.push_str(arabic_letter(c))),
                    Script::Hebrew => form = hebrew_word(&p.text),
                    Script::Cyrillic => form = p.text.chars().map(cyrillic_letter).collect(),
                }
                (!form.is_empty()).then_some(Raw {
                    form,
                    vowelless: matches!(p.script, Script::Arabic | Script::Hebrew),
                    hebrew: p.script == Script::Hebrew,
                })
            })
            .collect();
    }
    // Canonical spellings first, so that "Abdullah" and "Abd Allah" meet below.
    for r in raws.iter_mut().filter(|r| !r.vowelless) {
        if let Some(c) = canonical(&r.form)
            && c != r.form
        {
            notes.push(format!("'{}'→'{c}'", r.form));
            r.form = c.to_string();
        }
    }
    // `Abd` joins the name after it: Abd al-Rahman, Abdul Rahman, عبد الرحمن → abd+rahman.
    let mut joined: Vec<Raw> = Vec::with_capacity(raws.len());
    let mut i = 0;
    while i < raws.len() {
        if in_set(ABD, &raws[i].form) && i + 1 < raws.len() {
            let next = &raws[i + 1];
            let form = format!("abd{}", next.form);
            notes.push(format!("'{} {}'→'{form}'", raws[i].form, next.form));
            joined.push(Raw {
                form,
                vowelless: raws[i].vowelless || next.vowelless,
                hebrew: raws[i].hebrew || next.hebrew,
            });
            i += 2;
            continue;
        }
        let r = &raws[i];
        joined.push(Raw {
            form: r.form.clone(),
            vowelless: r.vowelless,
            hebrew: r.hebrew,
        });
        i += 1;
    }
    let mut tokens = Vec::with_capacity(joined.len().min(MAX_NAME_TOKENS));
    for mut r in joined.into_iter().take(MAX_NAME_TOKENS) {
        if let Some(p) = ABD_GLUED.iter().find(|p| r.form.starts_with(**p))
            && r.form.len() >= p.len() + 3
        {
            let form = format!("abd{}", &r.form[p.len()..]);
            if !r.vowelless {
                notes.push(format!("'{}'→'{form}'", r.form));
            }
            r.form = form;
        }
        let skel = skeleton(&r.form);
        tokens.push(Token {
            initial: !r.vowelless && r.form.chars().count() == 1,
            skel,
            form: r.form,
            vowelless: r.vowelless,
            hebrew: r.hebrew,
        });
    }
    notes.dedup();
    NormalName { tokens, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skels(s: &str) -> Vec<String> {
        normalize_name(s)
            .tokens
            .into_iter()
            .map(|t| t.skel)
            .collect()
    }
    fn forms(s: &str) -> Vec<String> {
        normalize_name(s)
            .tokens
            .into_iter()
            .map(|t| t.form)
            .collect()
    }

    #[test]
    fn arabic_and_latin_meet_on_consonants() {
        assert_eq!(skels("محمد"), skels("Mohammed"));
        assert_eq!(skels("أيمن الظواهري"), skels("Ayman al-Zawahiri"));
        assert_eq!(skels("حسين"), skels("Hussein"));
        assert_eq!(skels("عبد الرحمن"), skels("Abdul Rahman"));
        assert_eq!(skels("عبدالله"), skels("Abdullah"));
        assert_eq!(skels("Abd Allah"), skels("Abdullah"));
        assert_eq!(skels("خالد"), skels("Khaled"));
    }

    #[test]
    fn hebrew_and_latin_meet_on_consonants() {
        assert_eq!(skels("משה"), skels("Moshe"));
        assert_eq!(skels("אברהם"), skels("Avraham"));
        assert_eq!(skels("יצחק"), skels("Yitzhak"));
    }

    #[test]
    fn spellings_honorifics_and_company_forms() {
        assert_eq!(forms("Sheikh Mohamed Al-Hassan"), forms("muhammad hasan"));
        assert_eq!(forms("Dr. Ahmed el-Sayed"), forms("Ahmad Sayed"));
        assert_eq!(forms("Al-Nour Trading Co. S.A.L."), forms("Nour Trading"));
        assert_eq!(forms("Abdulrahman bin Ali"), forms("Abd al-Rahman Ali"));
        assert_eq!(skels("شركة النور للتجارة"), skels("النور للتجارة"));
        assert_eq!(forms("אלביט מערכות בע\"מ"), forms("אלביט מערכות"));
        assert_eq!(forms("Mu'ammar al-Qadhafi"), forms("Muammar Qadhafi"));
    }
}
