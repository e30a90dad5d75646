//! `serve`'s settings from three places, in this order of precedence: its flags, their
//! environment variables (`LIAISON_DATA`, `LIAISON_LISTEN`, …), and a TOML file
//! (`--config FILE` or `LIAISON_CONFIG`) whose keys are the flags' names.
//!
//! One struct, [`ServeSettings`], is at once the flags (clap), the environment (clap's
//! `env`) and the file (serde): a new setting is one field with its flag, its variable
//! and its doc comment, and one line in [`ServeSettings::or`].

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Where `serve` listens when no flag, variable or file says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

/// A setting the command line or its file got wrong: the invocation, not the cell.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `serve`'s settings as given, each unset where its source says nothing.
#[derive(clap::Args, serde::Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServeSettings {
    /// The data directory holding the cell (required here, in LIAISON_DATA or in the
    /// configuration file).
    #[arg(long, env = "LIAISON_DATA")]
    pub data: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:8470].
    #[arg(long, env = "LIAISON_LISTEN")]
    pub listen: Option<String>,
    /// The TLS certificate chain (PEM) to serve; default: the cell certificate in the
    /// data directory, when `init --hostname` made one. Needs --tls-key.
    #[arg(long = "tls-cert", env = "LIAISON_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's private key (PEM; group and others must not be able to
    /// read it). Needs --tls-cert.
    #[arg(long = "tls-key", env = "LIAISON_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address that is not loopback (tokens and content cross
    /// the network in clear text); `--insecure-http=false` overrides a variable or file.
    #[arg(
        long = "insecure-http",
        env = "LIAISON_INSECURE_HTTP",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub insecure_http: Option<bool>,
    /// Write log lines as text or as JSON objects (the filter is `LIAISON_LOG`)
    /// [default: text].
    #[arg(long = "log-format", env = "LIAISON_LOG_FORMAT", value_enum)]
    pub log_format: Option<crate::server::LogFormat>,
    /// Also serve `/metrics` on this address, over plain HTTP and without credentials
    /// (for Prometheus): bind it where only the monitoring can reach it. On the main
    /// listener `/metrics` needs the token of a supervising-party operator.
    #[arg(
        long = "metrics-listen",
        env = "LIAISON_METRICS_LISTEN",
        value_name = "ADDR"
    )]
    pub metrics_listen: Option<String>,
    /// `/readyz` answers 503 once a party's witness is more than this many entries
    /// behind the log (0: never) [default: 100000].
    #[arg(
        long = "max-witness-lag",
        env = "LIAISON_MAX_WITNESS_LAG",
        value_name = "N"
    )]
    pub max_witness_lag: Option<u64>,
    /// Keep a replica of the data directory in this folder (another disk, a network
    /// mount), written in step with every commit: a write is answered only once the
    /// replica holds it too, and refused (`replica_unavailable`) while the replica does
    /// not take it. Caught up on start; a folder ahead of or diverging from the record
    /// is refused. `liaison serve --data` runs from the replica as it is.
    #[arg(long, env = "LIAISON_REPLICA", value_name = "DIR")]
    pub replica: Option<PathBuf>,
}

/// `serve`'s settings once every source has spoken and they agree.
#[derive(Clone, Debug, PartialEq)]
pub struct Serve {
    pub data: PathBuf,
    pub replica: Option<PathBuf>,
    pub listen: String,
    pub tls: crate::server::TlsArgs,
    pub ops: crate::server::OpsArgs,
}

impl ServeSettings {
    /// Each setting from `self` where it has one, else from `lower`. Destructured, so
    /// that a new field that is not merged here does not compile.
    pub fn or(self, lower: ServeSettings) -> ServeSettings {
        let ServeSettings {
            data,
            listen,
            tls_cert,
            tls_key,
            insecure_http,
            log_format,
            metrics_listen,
            max_witness_lag,
            replica,
        } = self;
        ServeSettings {
            data: data.or(lower.data),
            listen: listen.or(lower.listen),
            tls_cert: tls_cert.or(lower.tls_cert),
            tls_key: tls_key.or(lower.tls_key),
            insecure_http: insecure_http.or(lower.insecure_http),
            log_format: log_format.or(lower.log_format),
            metrics_listen: metrics_listen.or(lower.metrics_listen),
            max_witness_lag: max_witness_lag.or(lower.max_witness_lag),
            replica: replica.or(lower.replica),
        }
    }

    /// Reads a configuration file. Unknown keys are refused by name; relative paths in
    /// it are taken from the file's folder, wherever `serve` is started.
    pub fn from_file(path: &Path) -> anyhow::Result<ServeSettings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut s: ServeSettings = toml::from_str(&text)
            .map_err(|e| UsageError(format!("{}: {}", path.display(), e.to_string().trim())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for p in [&mut s.data, &mut s.tls_cert, &mut s.tls_key, &mut s.replica]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(s)
    }

    /// The settings `serve` runs with: these over the file's, then the defaults.
    pub fn resolve(self, file: Option<&Path>) -> anyhow::Result<Serve> {
        let s = match file {
            Some(f) => self.or(ServeSettings::from_file(f)?),
            None => self,
        };
        let usage = |m: &str| anyhow::Error::new(UsageError(m.into()));
        let data = s.data.ok_or_else(|| {
            usage("serve needs a data directory: --data DIR, LIAISON_DATA or `data` in the configuration file")
        })?;
        let insecure_http = s.insecure_http.unwrap_or(false);
        match (&s.tls_cert, &s.tls_key) {
            (Some(_), None) => return Err(usage("--tls-cert needs --tls-key")),
            (None, Some(_)) => return Err(usage("--tls-key needs --tls-cert")),
            (Some(_), Some(_)) if insecure_http => {
                return Err(usage(
                    "--insecure-http cannot be used with --tls-cert and --tls-key",
                ));
            }
            _ => {}
        }
        Ok(Serve {
            data,
            replica: s.replica,
            listen: s.listen.unwrap_or_else(|| DEFAULT_LISTEN.into()),
            tls: crate::server::TlsArgs {
                tls_cert: s.tls_cert,
                tls_key: s.tls_key,
                insecure_http,
            },
            ops: crate::server::OpsArgs {
                log_format: s.log_format.unwrap_or_default(),
                metrics_listen: s.metrics_listen,
                max_witness_lag: s
                    .max_witness_lag
                    .unwrap_or(liaison_server::app::DEFAULT_MAX_WITNESS_LAG),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_comes_from_the_highest_source_that_has_it() {
        let flag = ServeSettings {
            listen: Some("flag".into()),
            ..Default::default()
        };
        let file = ServeSettings {
            data: Some("file-data".into()),
            listen: Some("file".into()),
            insecure_http: Some(true),
            ..Default::default()
        };
        let merged = flag.or(file);
        assert_eq!(merged.listen.as_deref(), Some("flag"));
        assert_eq!(merged.data, Some(PathBuf::from("file-data")));
        assert_eq!(merged.insecure_http, Some(true));
    }
}
