//! Identifier newtypes. Each has one validating constructor, used by serde too,
//! so an id that exists is known to be well formed.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Why a string cannot be an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The string is empty.
    #[error("an id cannot be empty")]
    Empty,
    /// The string is longer than [`MAX_ID_LEN`] bytes.
    #[error("an id is at most {MAX_ID_LEN} bytes, this one has {0}")]
    TooLong(usize),
    /// The string holds a control character or surrounding whitespace.
    #[error("an id cannot hold control characters or start or end with whitespace")]
    BadCharacter,
    /// The string holds an invisible format character (a zero-width space
    /// or joiner, a bidirectional control, a soft hyphen, a byte-order
    /// mark...), which would let two ids that look the same differ.
    #[error("an id cannot hold invisible format characters (U+{0:04X})")]
    FormatCharacter(u32),
}

/// Whether `c` is a Unicode format character (general category Cf, as of
/// Unicode 15.1): invisible, and able to make two ids that look alike
/// differ, or reorder how an id is shown.
fn is_format(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
}

/// Checks `value` against the id rules (length, control and format
/// characters, surrounding whitespace).
pub(crate) fn check_id(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(value.len()));
    }
    // Nearly every id is printable ASCII: one pass over the bytes settles
    // it (no control or format character can hide in them), and only the
    // ends need a look for spaces.
    let bytes = value.as_bytes();
    if bytes.iter().all(|b| (b' '..=b'~').contains(b))
        && bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
    {
        return Ok(());
    }
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(IdError::BadCharacter);
    }
    if let Some(c) = value.chars().find(|c| is_format(*c)) {
        return Err(IdError::FormatCharacter(u32::from(c)));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        // The text is shared, so cloning an id (into a report, an effect, a
        // plan) copies a pointer, not the string.
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub struct $name(Arc<str>);

        impl $name {
            /// Builds the id: 1 to [`MAX_ID_LEN`] bytes, no control characters,
            /// no leading or trailing whitespace.
            pub fn new(value: impl AsRef<str>) -> Result<Self, IdError> {
                let value = value.as_ref();
                check_id(value)?;
                Ok(Self(Arc::from(value)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.as_ref().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdVisitor).map(Self)
            }
        }
    };
}

/// Reads an id straight from the parser's text: one allocation, no copy
/// through an intermediate `String`.
struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = Arc<str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Arc<str>, E> {
        check_id(value).map_err(E::custom)?;
        Ok(Arc::from(value))
    }
}

id_type!(
    /// A person: the account holder, a tenant member, an SSO super admin or a
    /// support operator.
    UserId
);
impl UserId {
    /// `system`: the id [`Actor::system`](crate::Actor::system) acts under.
    pub fn system() -> UserId {
        UserId(Arc::from("system"))
    }
}

id_type!(
    /// A tenant (organisation, workspace, network).
    TenantId
);
id_type!(
    /// A subscription or add-on at the billing provider.
    SubscriptionId
);
id_type!(
    /// A stored payment method.
    PaymentMethodId
);
id_type!(
    /// An invoice.
    InvoiceId
);
id_type!(
    /// A legal hold.
    LegalHoldId
);

/// A domain name, stored in lower case (so `Example.com` and `example.com` are
/// the same domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

/// Why a string cannot be a domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a domain name (1 to 253 characters, dot-separated labels of letters, digits and hyphens)")]
pub struct DomainNameError(String);

impl DomainName {
    /// Builds a domain name: 1 to 253 characters of dot-separated labels, each
    /// 1 to 63 letters, digits, hyphens or underscores, not starting or ending
    /// with a hyphen. Upper case is folded to lower case.
    pub fn new(value: impl Into<String>) -> Result<Self, DomainNameError> {
        let value = value.into().to_ascii_lowercase();
        let label_ok = |label: &str| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if value.is_empty() || value.len() > 253 || !value.split('.').all(label_ok) {
            let shown: String = value.chars().take(80).collect();
            return Err(DomainNameError(shown));
        }
        Ok(Self(value))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DomainName {
    type Error = DomainNameError;
    fn try_from(value: String) -> Result<Self, DomainNameError> {
        Self::new(value)
    }
}

impl From<DomainName> for String {
    fn from(name: DomainName) -> String {
        name.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert_eq!(UserId::new("u_1").unwrap().as_str(), "u_1");
        assert_eq!(UserId::new(""), Err(IdError::Empty));
        assert_eq!(
            TenantId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong(MAX_ID_LEN + 1))
        );
        assert!(TenantId::new("x".repeat(MAX_ID_LEN)).is_ok());
        assert_eq!(InvoiceId::new("a\nb"), Err(IdError::BadCharacter));
        assert_eq!(InvoiceId::new(" a"), Err(IdError::BadCharacter));
        // The ASCII fast path: each end, DEL and tab still refused; a space
        // inside and every printable character still an id.
        assert_eq!(InvoiceId::new("a "), Err(IdError::BadCharacter));
        assert_eq!(InvoiceId::new("a\u{7f}b"), Err(IdError::BadCharacter));
        assert_eq!(InvoiceId::new("a\tb"), Err(IdError::BadCharacter));
        assert!(InvoiceId::new("a b").is_ok());
        let printable: String = (b'!'..=b'~').map(char::from).collect();
        assert!(InvoiceId::new(printable).is_ok());
        // Invisible format characters: two ids that look alike must not differ.
        for (text, code) in [
            ("u\u{200B}sam", 0x200B),
            ("u_\u{202E}mas", 0x202E),
            ("\u{FEFF}u_sam", 0xFEFF),
            ("u\u{2066}sam", 0x2066),
            ("u\u{00AD}sam", 0x00AD),
            ("u\u{E0041}sam", 0xE0041),
        ] {
            assert_eq!(
                UserId::new(text),
                Err(IdError::FormatCharacter(code)),
                "{text:?}"
            );
        }
        // Letters of any script stay ids.
        assert!(UserId::new("u_ünïcödé_名前").is_ok());
    }

    #[test]
    fn ids_deserialize_through_the_constructor() {
        let ok: SubscriptionId = serde_json::from_str("\"sub_1\"").unwrap();
        assert_eq!(ok.to_string(), "sub_1");
        let err = serde_json::from_str::<SubscriptionId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("cannot be empty"), "{err}");
        assert!(serde_json::from_str::<SubscriptionId>("12").is_err());
    }

    #[test]
    fn domain_names_fold_case_and_reject_junk() {
        assert_eq!(
            DomainName::new("Shop.Example.COM").unwrap().as_str(),
            "shop.example.com"
        );
        for bad in [
            "",
            "a..b",
            "-a.com",
            "a-.com",
            "a b.com",
            "ü.com",
            &"a".repeat(64),
        ] {
            assert!(DomainName::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(DomainName::new(format!("{}.com", "a".repeat(63))).is_ok());
    }
}
