//! C2SP tlog-checkpoint bodies: origin, decimal size, base64 root, optional extensions.

use crate::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub extensions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed checkpoint: {0}")]
pub struct CheckpointError(pub String);

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| CheckpointError("must end with a newline".into()))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| CheckpointError("no origin".into()))?;
        let size_s = lines
            .next()
            .ok_or_else(|| CheckpointError("no size".into()))?;
        if size_s.is_empty()
            || (size_s.len() > 1 && size_s.starts_with('0'))
            || !size_s.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CheckpointError(format!("bad size {size_s:?}")));
        }
        let size = size_s
            .parse()
            .map_err(|_| CheckpointError(format!("bad size {size_s:?}")))?;
        let root_s = lines
            .next()
            .ok_or_else(|| CheckpointError("no root".into()))?;
        let raw = B64
            .decode(root_s)
            .map_err(|_| CheckpointError("root is not base64".into()))?;
        let root: Hash = raw
            .try_into()
            .map_err(|_| CheckpointError("root is not 32 bytes".into()))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError("empty extension line".into()));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip_and_rejects() {
        let c = Checkpoint::new("example.org/log", 42, [7u8; 32]);
        assert_eq!(Checkpoint::parse(&c.to_text()), Ok(c.clone()));
        assert!(Checkpoint::parse("example.org/log\n042\nAAAA\n").is_err());
        assert!(Checkpoint::parse(&c.to_text().replace("42", "x")).is_err());
        assert!(Checkpoint::parse("o\n1\n").is_err());
    }
}
