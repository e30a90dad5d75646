#!/usr/bin/env python3
"""Writes the screening evaluation: a synthetic sanctions list of at least 50,000 names and
aliases as FollowTheMoney JSON lines (list.ftm.json), and a labelled set of query names
(queries.jsonl). Seeded: the same seed writes the same files byte for byte.

The list is synthetic: people and organisations put together from realistic Arabic,
Hebrew and other name parts, each with its primary name in Latin letters, some with their
name in Arabic or Hebrew script, and aliases in other transliterations; the entries of the
repository's FtM fixture are included as they are. No real person is meant.

Queries are labelled "match" (a variant of one listed entity's name: another
transliteration, Arabic or Hebrew script for a name listed in Latin letters only, word
order, a dropped middle name, an honorific or company form, an initial, a typo) or
"nomatch" (common names that no listed entity carries, and near misses: a listed name with
one part swapped for a different name that looks or sounds alike, such as Hasan for
Husayn or Hamid for Ahmad). Each query names the entity it was made from.

Usage: python3 bench/screening/generate.py [--seed 25] [--out bench/screening]
"""

import argparse
import json
import os
import random
import re

# Name parts: (Latin in a scholarly transliteration, Arabic script). A part id is its
# Latin form.
AR_GIVEN = """Muhammad محمد|Ahmad أحمد|Ali علي|Hasan حسن|Husayn حسين|Mahmud محمود|Mustafa مصطفى|Khalid خالد|Umar عمر|Uthman عثمان|Yusuf يوسف|Ibrahim إبراهيم|Ismail إسماعيل|Yahya يحيى|Zakariya زكريا|Abd al-Rahman عبد الرحمن|Abd al-Aziz عبد العزيز|Abd Allah عبد الله|Abd al-Karim عبد الكريم|Abd al-Qadir عبد القادر|Abd al-Latif عبد اللطيف|Abd al-Hamid عبد الحميد|Abd al-Majid عبد المجيد|Abd al-Razzaq عبد الرزاق|Salah صلاح|Salih صالح|Said سعيد|Saad سعد|Samir سمير|Sami سامي|Walid وليد|Khalil خليل|Jamal جمال|Kamal كمال|Nabil نبيل|Nasir ناصر|Faysal فيصل|Fahd فهد|Tariq طارق|Ziyad زياد|Bashar بشار|Hafiz حافظ|Rami رامي|Mahir ماهر|Hamid حامد|Hamad حمد|Hamza حمزة|Hisham هشام|Imad عماد|Iyad إياد|Jihad جهاد|Marwan مروان|Munir منير|Muhsin محسن|Murad مراد|Nizar نزار|Qasim قاسم|Rashid رشيد|Riyad رياض|Sharif شريف|Shadi شادي|Sulayman سليمان|Talal طلال|Wail وائل|Yasir ياسر|Yunus يونس|Zuhayr زهير|Adnan عدنان|Ayman أيمن|Anas أنس|Amr عمرو|Bilal بلال|Fadi فادي|Fawzi فوزي|Ghassan غسان|Hani هاني|Haytham هيثم|Husam حسام|Isa عيسى|Jabir جابر|Karim كريم|Luay لؤي|Majid ماجد|Mansur منصور|Mazin مازن|Nadir نادر|Naim نعيم|Usama أسامة|Qays قيس|Raid رائد|Sabri صبري|Safwan صفوان|Shawqi شوقي|Taha طه|Tamir تامر|Wasim وسيم|Zayd زيد|Akram أكرم|Ashraf أشرف|Basil باسل|Fuad فؤاد|Ghazi غازي|Habib حبيب|Idris إدريس|Jalal جلال|Kazim كاظم|Lutfi لطفي|Mamun مأمون|Nuri نوري|Rafiq رفيق|Sadiq صادق|Tawfiq توفيق|Wajih وجيه|Fatima فاطمة|Aisha عائشة|Maryam مريم|Zaynab زينب|Khadija خديجة|Huda هدى|Layla ليلى|Rana رنا|Salma سلمى|Samira سميرة|Suad سعاد|Amal أمل|Hanan حنان|Iman إيمان|Rasha رشا|Nadia نادية|Lina لينا|Dalia داليا|Ruqayya رقية|Asma أسماء"""

AR_FAMILY = """al-Masri المصري|al-Halabi الحلبي|al-Shami الشامي|al-Dimashqi الدمشقي|al-Homsi الحمصي|al-Hariri الحريري|al-Husayni الحسيني|al-Qurashi القرشي|al-Tamimi التميمي|al-Shammari الشمري|al-Dulaymi الدليمي|al-Jaburi الجبوري|al-Ubaydi العبيدي|al-Zubaydi الزبيدي|al-Khatib الخطيب|al-Najjar النجار|al-Haddad الحداد|al-Sabbagh الصباغ|Makhluf مخلوف|Shaban شعبان|Darwish درويش|Barakat بركات|Nasrallah نصر الله|Fadlallah فضل الله|Hijazi حجازي|Hamada حمادة|Jabir جابر|Kabbani قباني|al-Atasi الأتاسي|al-Jabiri الجابري|al-Kurdi الكردي|al-Turkmani التركماني|al-Idlibi الإدلبي|al-Hurani الحوراني|al-Baghdadi البغدادي|al-Mawsili الموصلي|al-Basri البصري|al-Tikriti التكريتي|al-Anbari الأنباري|al-Zarqawi الزرقاوي|al-Maqdisi المقدسي|al-Nabulsi النابلسي|al-Khalili الخليلي|al-Jabari الجعبري|al-Sinwar السنوار|Haniya هنية|al-Zahhar الزهار|al-Barghuthi البرغوثي|al-Rajub الرجوب|Dahlan دحلان|al-Qudsi القدسي|al-Ramli الرملي|al-Akkawi العكاوي|al-Suri السوري|al-Lubnani اللبناني|al-Urduni الأردني|al-Iraqi العراقي|al-Yamani اليمني|al-Libi الليبي|al-Tunisi التونسي|al-Jazairi الجزائري|al-Maghribi المغربي|al-Sudani السوداني|al-Kuwaiti الكويتي|al-Zawahiri الظواهري|al-Zahrani الزهراني|al-Ghamidi الغامدي|al-Qahtani القحطاني|al-Harbi الحربي|al-Mutayri المطيري|al-Utaybi العتيبي|al-Dawsari الدوسري|al-Anazi العنزي|al-Shahri الشهري|al-Asiri العسيري|al-Maliki المالكي|al-Hakim الحكيم|al-Sadr الصدر|al-Amiri العامري|al-Khazali الخزعلي|al-Hashimi الهاشمي|al-Jafari الجعفري|Allawi علاوي|al-Jalabi الجلبي|al-Barzani البرزاني|al-Talabani الطالباني|Qabbani قباني|Shihab شهاب|Khury خوري|Haykal هيكل|Mikati ميقاتي|Karami كرامي|Salam سلام|Junblat جنبلاط|Arslan أرسلان|Frangiya فرنجية|Bazzi بزي|Berri بري|Safadi صفدي|Shuqayr شقير|Tlass طلاس|Khaddam خدام|Shawkat شوكت|Mamluk مملوك|Hasun حسون|Zaytun زيتون|Qaddur قدور|Abbas عباس|Awad عوض|Bakri بكري|Dabbagh دباغ|Farhat فرحات|Ghanim غانم|Hammud حمود|Issa عيسى|Jarrah جراح|Khayyat خياط|Labban لبان|Murtada مرتضى|Nasif ناصيف|Qassab قصاب|Rifai رفاعي|Sabbah صباح|Tahhan طحان|Wahba وهبة|Yasin ياسين|Zaki زكي|Atrash أطرش|Halawani حلواني|Shurbaji شربجي|Sukkari سكري|Tabbakh طباخ"""

# Hebrew parts: (Latin, Hebrew script).
HE_GIVEN = """Moshe משה|Avraham אברהם|Yitzhak יצחק|Yaakov יעקב|David דוד|Yosef יוסף|Shlomo שלמה|Eliyahu אליהו|Binyamin בנימין|Meir מאיר|Baruch ברוך|Chaim חיים|Menachem מנחם|Yehuda יהודה|Shimon שמעון|Reuven ראובן|Aharon אהרון|Daniel דניאל|Uri אורי|Yonatan יונתן|Noam נועם|Itamar איתמר|Eliezer אליעזר|Shmuel שמואל|Natan נתן|Gideon גדעון|Amos עמוס|Ehud אהוד|Yair יאיר|Avi אבי|Ariel אריאל|Eitan איתן|Ofer עופר|Tal טל|Yinon ינון|Elisha אלישע|Boaz בועז|Yehoshua יהושע|Tzvi צבי|Zeev זאב|Sarah שרה|Rivka רבקה|Rachel רחל|Leah לאה|Miriam מרים|Esther אסתר|Daniella דניאלה|Tamar תמר|Yael יעל|Noa נועה|Michal מיכל|Orit אורית|Shira שירה|Hadas הדס|Ayelet איילת"""

HE_FAMILY = """Cohen כהן|Levi לוי|Mizrahi מזרחי|Peretz פרץ|Biton ביטון|Dahan דהן|Friedman פרידמן|Azoulay אזולאי|Malka מלכה|Katz כץ|Ohayon אוחיון|Hadad חדד|Gabay גבאי|Amar עמר|Shapira שפירא|Weiss וייס|Goldberg גולדברג|Rosenberg רוזנברג|Klein קליין|Schwartz שוורץ|Ashkenazi אשכנזי|Shalom שלום|Segal סגל|Elbaz אלבז|Vaknin וקנין|Zohar זוהר|Golan גולן|Barak ברק|Sharon שרון|Carmi כרמי|Navon נבון|Tzur צור|Hazan חזן|Yadin ידין|Marzel מרזל|Ettinger אטינגר|Ben Gvir בן גביר|Smotrich סמוטריץ׳|Yered ירד|Levinger לוינגר|Ben Ami בן עמי|Eliav אליאב|Horowitz הורוביץ|Kaplan קפלן|Lieberman ליברמן|Mor מור|Nahum נחום|Oren אורן|Rubin רובין|Sasson ששון|Tal טל|Ziv זיו|Avraham אברהם|Yosef יוסף|David דוד"""

OTHER_GIVEN = "John James Robert Michael William Maria Elena Ivan Sergei Dmitri Viktor Olga Anna Peter Paul Mark Jose Carlos Luis Ahmet Mehmet Mustafa Emre Kemal Ali Reza Hossein Mahmoud Dariush Farhad Wei Li Chen Kim Park".split()
OTHER_FAMILY = "Smith Johnson Brown Miller Davis Petrov Ivanov Smirnov Volkov Sokolov Garcia Rodriguez Martinez Lopez Yilmaz Kaya Demir Sahin Celik Rezaei Hosseini Ahmadi Mohammadi Karimi Wang Zhang Liu Nguyen Tran Kovacs Novak Horvat Popescu Ionescu".split()

ORG_WORDS = """Trading|General Trading|Import Export|Shipping|Petroleum|Oil Services|Construction|Contracting|Engineering|Investment|Holding|Exchange|Money Transfer|Charitable Society|Foundation|Brigades|Front|Movement|Martyrs Battalion|Logistics|Electronics|Pharmaceuticals|Steel|Cement|Airlines|Maritime|Telecom|Bank|Finance|Real Estate|Agriculture|Textiles|Food Industries|Transport|Security Services|Media|Tourism|Development|Technology""".split("|")
ORG_NAMES_AR = """Nur النور|Amal الأمل|Fajr الفجر|Salam السلام|Wafa الوفاء|Rashid الرشيد|Aqsa الأقصى|Quds القدس|Furat الفرات|Sham الشام|Hilal الهلال|Jazira الجزيرة|Khalij الخليج|Rafidain الرافدين|Nasr النصر|Tawhid التوحيد|Ansar الأنصار|Huda الهدى|Iman الإيمان|Ikhlas الإخلاص|Baraka البركة|Ihsan الإحسان|Shuruq الشروق|Ghad الغد|Mustaqbal المستقبل|Wahda الوحدة|Sumud الصمود|Karama الكرامة|Hurriya الحرية|Zaytuna الزيتونة|Buraq البراق|Safa الصفا|Marwa المروة|Badr بدر|Uhud أحد|Yarmuk اليرموك|Hittin حطين|Qadisiya القادسية|Andalus الأندلس|Rayyan الريان|Zahra الزهراء|Bayan البيان|Sanabil السنابل|Manar المنار|Mashriq المشرق|Maghrib المغرب|Nil النيل|Dijla دجلة|Asi العاصي|Barada بردى"""
ORG_NAMES_HE = """Lehava להבה|Amana אמנה|Regavim רגבים|Nahala נחלה|Elad אלעד|Ateret אטרת|Shomrim שומרים|Hashomer השומר|Kedem קדם|Yesha ישע|Orot אורות|Tkuma תקומה|Hadar הדר|Zion ציון|Galil גליל|Negev נגב|Golan גולן|Carmel כרמל|Sharon שרון|Arava ערבה"""
ORG_FORMS = ["LLC", "Ltd", "Co.", "S.A.L.", "Inc.", "Company", "Establishment", "Group", "FZE", "Corp."]
ORG_FORMS_AR = ["شركة", "مؤسسة"]
ORG_FORMS_HE = ['בע"מ']

HONORIFICS = ["Sheikh", "Dr.", "Haj", "Shaykh", "Hajji", "Mr.", "Imam", "Mullah"]
HONORIFICS_AR = ["الشيخ", "الحاج", "الدكتور"]
HONORIFICS_HE = ["הרב", 'ד"ר']

# Different names that look or sound alike (for near misses), both ways.
CONFUSABLE = [
    ("Hasan", "Husayn"), ("Hamid", "Ahmad"), ("Hamid", "Hamad"), ("Ahmad", "Hamad"),
    ("Said", "Saad"), ("Salih", "Salah"), ("Khalid", "Khalil"), ("Jamal", "Kamal"),
    ("Samir", "Sami"), ("Nasir", "Nabil"), ("Rami", "Sami"), ("Majid", "Hamid"),
    ("Mahmud", "Muhammad"), ("Amr", "Umar"), ("Qasim", "Hashim"), ("Karim", "Akram"),
    ("Fadi", "Hadi"), ("Hani", "Fadi"), ("Ziyad", "Zayd"), ("Anas", "Ayman"),
    ("al-Zahrani", "al-Zawahiri"), ("al-Tamimi", "al-Tikriti"), ("al-Masri", "al-Basri"),
    ("al-Harbi", "al-Hariri"), ("al-Jabiri", "al-Jabari"), ("Hammud", "Mahmud"),
    ("al-Shammari", "al-Shahri"), ("al-Amiri", "al-Anazi"), ("Abbas", "Awad"),
    ("Moshe", "Meir"), ("Yosef", "Yossi"), ("Levi", "Lev"), ("Cohen", "Kahn"),
    ("David", "Daniel"), ("Katz", "Kaplan"), ("Weiss", "Klein"), ("Tal", "Tzur"),
    ("Aharon", "Amos"), ("Shimon", "Shmuel"), ("Yair", "Yaakov"),
]


def parts(table):
    out = []
    for item in table.split("|"):
        item = item.strip()
        words = item.split(" ")
        # The script form is the trailing run of non-Latin words.
        i = len(words)
        while i > 0 and not words[i - 1].isascii():
            i -= 1
        out.append((" ".join(words[:i]), " ".join(words[i:])))
    return out


ARG = parts(AR_GIVEN)
ARF = parts(AR_FAMILY)
HEG = parts(HE_GIVEN)
HEF = parts(HE_FAMILY)
ORGAR = parts(ORG_NAMES_AR)
ORGHE = parts(ORG_NAMES_HE)
SCRIPT = {l: s for l, s in ARG + ARF + HEG + HEF + ORGAR + ORGHE}

# Transliteration variants: rewrite rules applied to the scholarly form, each spelling
# real lists and passports use.
AR_RULES = [
    ("u", "o"), ("u", "ou"), ("i", "e"), ("i", "ee"), ("a", "e"), ("ay", "ei"), ("ay", "ai"),
    ("q", "k"), ("q", "kk"), ("dh", "z"), ("th", "s"), ("th", "t"), ("j", "g"), ("j", "dj"),
    ("sh", "ch"), ("kh", "h"), ("w", "ou"), ("iyy", "iy"), ("iyy", "i"), ("aa", "a"),
    ("s", "ss"), ("m", "mm"), ("d", "dd"), ("l", "ll"), ("z", "zz"), ("b", "bb"), ("r", "rr"),
    ("al-", "el-"), ("al-", "Al "), ("al-", ""), ("al-", "Al-"), ("Abd al-", "Abdul "),
    ("Abd al-", "Abdel "), ("Abd al-", "Abdul"), ("Abd Allah", "Abdullah"),
    ("Abd Allah", "Abdallah"), ("Muhammad", "Mohammed"), ("Muhammad", "Mohamed"),
    ("Muhammad", "Mohammad"), ("Muhammad", "Mohamad"), ("Husayn", "Hussein"),
    ("Husayn", "Hussain"), ("Hasan", "Hassan"), ("Yusuf", "Youssef"), ("Umar", "Omar"),
    ("Uthman", "Othman"), ("Uthman", "Osman"), ("Usama", "Osama"), ("a", "ah"),
]
HE_RULES = [
    ("ch", "kh"), ("ch", "h"), ("tz", "ts"), ("tz", "z"), ("v", "b"), ("y", "i"), ("i", "y"),
    ("e", "a"), ("a", "e"), ("k", "kh"), ("o", "u"), ("ei", "ey"), ("sh", "s"), ("w", "v"),
    ("ss", "s"), ("s", "ss"), ("Yitzhak", "Itzhak"), ("Avraham", "Abraham"),
    ("Yaakov", "Yakov"), ("Binyamin", "Benjamin"), ("Yosef", "Joseph"), ("Eliyahu", "Eliahu"),
    ("Shlomo", "Solomon"), ("Yehuda", "Judah"), ("Levi", "Levy"), ("Cohen", "Kohen"),
    ("Weiss", "Vais"), ("Ben ", "Ben-"), ("a", "ah"),
]


def variant(rng, name, rules, changes=None):
    """Another spelling of a Latin name: 1 to 3 rules, each at one place it applies."""
    changes = changes or rng.randint(1, 3)
    out = name
    for _ in range(changes):
        applicable = [r for r in rules if r[0] in out]
        if not applicable:
            break
        a, b = rng.choice(applicable)
        idx = [i for i in range(len(out)) if out.startswith(a, i)]
        i = rng.choice(idx)
        changed = out[:i] + b + out[i + len(a):]
        if not re.search(r"(.)\1\1", changed):
            out = changed
    out = " ".join(out.split())
    # Doubling rules do not reach into the article.
    for a, b in (("all-", "al-"), ("All-", "Al-"), ("ell-", "el-"), ("All ", "Al ")):
        out = out.replace(a, b)
    return out if out.strip() else name


def typo(rng, name):
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 6:
        return name
    i = rng.choice(letters[1:])
    op = rng.choice(["swap", "drop", "double", "replace"])
    if op == "swap" and i + 1 < len(name) and name[i + 1].isalpha():
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if op == "drop":
        return name[:i] + name[i + 1:]
    if op == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + rng.choice("aeiourlnst") + name[i + 1:]


class Person:
    def __init__(self, pid, origin, parts_):
        self.id = pid
        self.origin = origin  # "ar", "he", "other"
        self.parts = parts_  # Latin part ids, given first, family last

    def latin(self, order="natural"):
        if order == "ofac":
            return f"{self.parts[-1].upper()}, {' '.join(self.parts[:-1])}"
        return " ".join(self.parts)

    def script(self):
        if self.origin == "other":
            return None
        return " ".join(SCRIPT[p] for p in self.parts)


def make_people(rng, n):
    people = []
    for i in range(n):
        r = rng.random()
        if r < 0.62:
            k = rng.choice([2, 3, 3, 4])
            given = [rng.choice(ARG)[0] for _ in range(k - 1)]
            ps = given + [rng.choice(ARF)[0]]
            origin = "ar"
        elif r < 0.82:
            ps = [rng.choice(HEG)[0], rng.choice(HEF)[0]]
            if rng.random() < 0.2:
                ps.insert(1, rng.choice(HEG)[0])
            origin = "he"
        else:
            ps = [rng.choice(OTHER_GIVEN), rng.choice(OTHER_FAMILY)]
            origin = "other"
        people.append(Person(f"SYN-P{i:05d}", origin, ps))
    return people


class Org:
    """An organisation: a core name of two words (Arabic: a noun and a genitive, "Nur
    al-Sham"), descriptive words and a company form."""

    def __init__(self, oid, origin, core, core_script, words, form):
        self.id = oid
        self.origin = origin
        self.core = core
        self.core_script = core_script
        self.words = words
        self.form = form

    def latin(self):
        pre = "Al-" if self.origin == "ar" else ""
        return f"{pre}{self.core} {self.words} {self.form}".strip()

    def script(self):
        if self.origin == "ar":
            return f"{rng_choice_fixed(ORG_FORMS_AR, self.id)} {self.core_script}"
        if self.origin == "he":
            return f"{self.core_script} {ORG_FORMS_HE[0]}"
        return None


def rng_choice_fixed(seq, key):
    return seq[sum(map(ord, key)) % len(seq)]


def make_orgs(rng, n):
    orgs = []
    for i in range(n):
        r = rng.random()
        if r < 0.7:
            (a, sa), (b, sb) = rng.sample(ORGAR, 2)
            origin, core, script = "ar", f"{a} al-{b}", f"{sa[2:] if sa.startswith('ال') else sa} {sb}"
        elif r < 0.85:
            (a, sa), (b, sb) = rng.sample(ORGHE, 2)
            origin, core, script = "he", f"{a} {b}", f"{sa} {sb}"
        else:
            origin, core, script = "other", f"{rng.choice(OTHER_FAMILY)} {rng.choice(OTHER_FAMILY)}", None
        orgs.append(Org(f"SYN-O{i:05d}", origin, core, script, rng.choice(ORG_WORDS), rng.choice(ORG_FORMS)))
    return orgs


def entity_line(eid, schema, names, country, dataset="synthetic"):
    props = {"name": names[:1]}
    if len(names) > 1:
        props["alias"] = names[1:]
    if country:
        props["country" if schema != "Person" else "nationality"] = [country]
    return json.dumps({"id": eid, "schema": schema, "properties": props, "datasets": [dataset]}, ensure_ascii=False)


AR_COUNTRIES = ["sy", "lb", "iq", "jo", "eg", "ps", "sa", "ye", "ir"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=25)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--people", type=int, default=13000)
    ap.add_argument("--orgs", type=int, default=4000)
    ap.add_argument("--queries", type=int, default=2400)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    people = make_people(rng, args.people)
    orgs = make_orgs(rng, args.orgs)
    lines = []
    names_total = 0
    listed_names = {}  # entity id -> names as listed
    script_listed = {}  # entity id -> whether its script form is listed
    has_short = {}  # organisation id -> whether its core name alone is an alias
    for p in people:
        names = [p.latin("ofac") if rng.random() < 0.5 else p.latin()]
        rules = AR_RULES if p.origin == "ar" else HE_RULES
        with_script = p.origin != "other" and rng.random() < 0.5
        if with_script:
            names.append(p.script())
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            v = variant(rng, p.latin(), rules)
            if v not in names:
                names.append(v)
        if len(p.parts) >= 3 and rng.random() < 0.3:
            names.append(f"{p.parts[0]} {p.parts[-1]}")
        country = rng.choice(AR_COUNTRIES) if p.origin == "ar" else ("il" if p.origin == "he" else None)
        lines.append(entity_line(p.id, "Person", names, country))
        listed_names[p.id] = names
        script_listed[p.id] = with_script
        names_total += len(names)
    for o in orgs:
        names = [o.latin()]
        with_script = o.origin != "other" and rng.random() < 0.5
        if with_script:
            names.append(o.script())
        if rng.random() < 0.6:
            names.append(f"{o.core} {o.words}")
        short = o.origin != "other" and rng.random() < 0.5
        if short:
            names.append(("Al-" if o.origin == "ar" else "") + o.core)
        has_short[o.id] = short
        country = rng.choice(AR_COUNTRIES) if o.origin == "ar" else ("il" if o.origin == "he" else None)
        lines.append(entity_line(o.id, "Organization", names, country))
        listed_names[o.id] = names
        script_listed[o.id] = with_script
        names_total += len(names)
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "screening", "fixtures", "opensanctions", "entities.ftm.json")
    with open(fixture, encoding="utf-8") as f:
        for line in f:
            lines.append(line.rstrip("\n"))
            e = json.loads(line)
            if e["schema"] in ("Person", "Organization", "Vessel"):
                names_total += sum(len(e["properties"].get(k, [])) for k in ("name", "alias", "weakAlias"))
    assert names_total >= 50000, names_total
    with open(os.path.join(args.out, "list.ftm.json"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    # Which sets of parts the listed names carry (a person's full name, and the given
    # and family name alone where that alias is listed), to keep non-matches honest: a
    # query is no non-match when a listed name's parts are all in it, or all its parts
    # are in a listed name.
    by_part = {}
    for p in people:
        sets = [frozenset(p.parts)]
        if f"{p.parts[0]} {p.parts[-1]}" in listed_names[p.id]:
            sets.append(frozenset([p.parts[0], p.parts[-1]]))
        for st in sets:
            for part in st:
                by_part.setdefault(part, []).append(st)

    def listed_with(parts_):
        q = frozenset(parts_)
        return any(st <= q or q <= st for part in q for st in by_part.get(part, []))

    queries = []
    n_pos = args.queries * 55 // 100
    n_neg = args.queries - n_pos
    kinds = ["spelling"] * 2 + ["order", "dropped", "honorific", "initial", "typo"] + ["script"] * 5 + ["org"] * 2
    while len([q for q in queries if q["label"] == "match"]) < n_pos:
        how = rng.choice(kinds)
        if how == "org":
            o = rng.choice(orgs)
            # In script: the core name with a company form, for an organisation listed
            # in Latin letters only, under its core name among others.
            if o.origin == "ar" and rng.random() < 0.5:
                name = f"{rng.choice(ORG_FORMS_AR)} {o.core_script}"
                script = "ar"
                if script_listed[o.id] or not has_short[o.id]:
                    continue
            elif o.origin == "he" and rng.random() < 0.5:
                name = f"{o.core_script} {ORG_FORMS_HE[0]}"
                script = "he"
                if script_listed[o.id] or not has_short[o.id]:
                    continue
            else:
                pre = rng.choice(["Al-", "El ", "Al ", ""]) if o.origin == "ar" else ""
                name = f"{pre}{variant(rng, o.core, AR_RULES if o.origin == 'ar' else HE_RULES, 1)} {o.words} {rng.choice(ORG_FORMS)}"
                script = "latin"
            queries.append({"name": name.strip(), "kind": "organisation", "script": script, "label": "match", "target": o.id, "variant": "organisation: another company form, article or spelling" + (" in script" if script != "latin" else "")})
            continue
        p = rng.choice(people)
        rules = AR_RULES if p.origin == "ar" else HE_RULES
        script = "latin"
        if how == "spelling":
            name = variant(rng, p.latin(), rules)
        elif how == "order":
            ps = list(p.parts)
            ps = ps[-1:] + ps[:-1]
            name = variant(rng, " ".join(ps), rules, 1)
        elif how == "script":
            if p.origin == "other" or script_listed[p.id]:
                continue
            ps = p.parts if len(p.parts) < 4 or rng.random() < 0.5 else [p.parts[0], p.parts[-1]]
            name = " ".join(SCRIPT[x] for x in ps)
            script = p.origin
        elif how == "dropped":
            if len(p.parts) < 3:
                continue
            name = variant(rng, f"{p.parts[0]} {p.parts[-1]}", rules, 1)
        elif how == "honorific":
            if p.origin == "ar" and rng.random() < 0.4 and not script_listed[p.id]:
                name = f"{rng.choice(HONORIFICS_AR)} {' '.join(SCRIPT[x] for x in p.parts)}"
                script = "ar"
            elif p.origin == "he" and rng.random() < 0.4 and not script_listed[p.id]:
                name = f"{rng.choice(HONORIFICS_HE)} {' '.join(SCRIPT[x] for x in p.parts)}"
                script = "he"
            else:
                name = f"{rng.choice(HONORIFICS)} {variant(rng, p.latin(), rules, 1)}"
        elif how == "initial":
            if len(p.parts) < 2:
                continue
            name = f"{p.parts[0][0]}. {' '.join(p.parts[1:])}"
        else:
            name = typo(rng, variant(rng, p.latin(), rules, 1))
        queries.append({"name": name, "kind": "person", "script": script, "label": "match", "target": p.id, "variant": how})
    tries = 0
    while len([q for q in queries if q["label"] == "nomatch"]) < n_neg and tries < 100000:
        tries += 1
        r = rng.random()
        if r < 0.4:
            # A common name nobody on the list carries.
            if rng.random() < 0.7:
                ps = [rng.choice(ARG)[0], rng.choice(ARF)[0]]
                origin = "ar"
            else:
                ps = [rng.choice(HEG)[0], rng.choice(HEF)[0]]
                origin = "he"
            if listed_with(ps):
                continue
            script = "latin"
            if rng.random() < 0.3:
                name = " ".join(SCRIPT[x] for x in ps)
                script = origin
            else:
                name = variant(rng, " ".join(ps), AR_RULES if origin == "ar" else HE_RULES, 1)
            queries.append({"name": name, "kind": "person", "script": script, "label": "nomatch", "target": None, "variant": "common name not listed"})
        else:
            # A near miss: a listed person's name with one part swapped for a different
            # name that looks or sounds alike.
            p = rng.choice(people)
            swaps = [(i, b) for i, x in enumerate(p.parts) for a, b in CONFUSABLE + [(y, x_) for x_, y in CONFUSABLE] if x == a]
            if not swaps:
                continue
            i, b = rng.choice(swaps)
            ps = list(p.parts)
            ps[i] = b
            if listed_with(ps) or b not in SCRIPT and p.origin != "other":
                continue
            script = "latin"
            if p.origin != "other" and rng.random() < 0.3 and all(x in SCRIPT for x in ps):
                name = " ".join(SCRIPT[x] for x in ps)
                script = p.origin
            else:
                name = " ".join(ps)
            queries.append({"name": name, "kind": "person", "script": script, "label": "nomatch", "target": p.id, "variant": f"near miss: {p.parts[i]} → {b}"})
    rng.shuffle(queries)
    with open(os.path.join(args.out, "queries.jsonl"), "w", encoding="utf-8") as f:
        for i, q in enumerate(queries):
            q = {"id": f"q{i:05d}", **q}
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    print(json.dumps({"entities": len(lines), "names": names_total, "queries": len(queries), "match": n_pos, "nomatch": len(queries) - n_pos}))


if __name__ == "__main__":
    main()
