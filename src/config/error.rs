//! `file:line:col: key: problem`: [`ConfigError`], and [`Ctx`], which places an error in the
//! text (serde's errors included, with the key path found in the partial document).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Why a watch-list could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file was read but is not a valid watch-list.
    Invalid(Located),
}

/// An error at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file as the user named it.
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Key path, e.g. `feed[3].url`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "cannot read watch-list {}: {source}", path.display())
            }
            ConfigError::Invalid(l) => write!(
                f,
                "{}:{}:{}: {}: {}",
                l.file, l.line, l.column, l.key, l.message
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Invalid(_) => None,
        }
    }
}

pub(super) struct Ctx<'a> {
    pub(super) file: String,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn at(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = crate::text_pos::line_col(self.text, span.start);
        ConfigError::Invalid(Located {
            file: self.file.clone(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        })
    }

    pub(super) fn serde_error(&self, e: &toml::de::Error) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        // A syntax error still leaves a partial document to find the key in.
        let (root, syntax_errors) = toml::de::DeTable::parse_recoverable(self.text);
        let fallback = if syntax_errors.is_empty() {
            "(top level)"
        } else {
            "(syntax)"
        };
        let mut key = key_path_at(root.get_ref(), span.start).unwrap_or_else(|| fallback.into());
        if let Some(k) = bare_key_at(self.text, &span)
            && !key.ends_with(k)
        {
            key = format!("{key}.{k}");
        }
        let message = e.message().trim().replace('\n', " ");
        self.at(span, key, message)
    }
}

/// The dotted key path of the innermost key or value covering `offset`; when none covers it
/// (a duplicate key is not in the parsed document), the nearest table before it.
fn key_path_at(table: &toml::de::DeTable<'_>, offset: usize) -> Option<String> {
    fn walk_table(t: &toml::de::DeTable<'_>, offset: usize, path: &mut String) {
        let covering = t
            .iter()
            .find(|(k, v)| k.span().contains(&offset) || v.span().contains(&offset));
        let preceding = || {
            t.iter()
                .filter(|(k, v)| {
                    k.span().start <= offset && (v.get_ref().is_table() || v.get_ref().is_array())
                })
                .max_by_key(|(k, _)| k.span().start)
        };
        if let Some((k, v)) = covering.or_else(preceding) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k.get_ref());
            if !k.span().contains(&offset) {
                walk_value(v.get_ref(), offset, path);
            }
        }
    }
    fn walk_value(v: &toml::de::DeValue<'_>, offset: usize, path: &mut String) {
        match v {
            toml::de::DeValue::Table(t) => walk_table(t, offset, path),
            toml::de::DeValue::Array(a) => {
                let found = a
                    .iter()
                    .enumerate()
                    .find(|(_, v)| v.span().contains(&offset))
                    .or_else(|| {
                        a.iter()
                            .enumerate()
                            .rfind(|(_, v)| v.span().start <= offset && v.get_ref().is_table())
                    });
                if let Some((i, v)) = found {
                    path.push_str(&format!("[{}]", i + 1));
                    walk_value(v.get_ref(), offset, path);
                }
            }
            _ => {}
        }
    }
    let mut path = String::new();
    walk_table(table, offset, &mut path);
    (!path.is_empty()).then_some(path)
}

/// The bare key written at `span`, if the error points at one.
fn bare_key_at<'a>(text: &'a str, span: &Range<usize>) -> Option<&'a str> {
    let k = text.get(span.clone())?;
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let is_key = text[span.end..]
        .trim_start_matches([' ', '\t'])
        .starts_with('=');
    (bare && is_key).then_some(k)
}
