//! JSON shape shared by commands and events: an object whose `type` field names the
//! variant and whose other fields are the variant's body, e.g.
//! `{"type": "assignTask", "id": "t-1", "assignee": "alice"}`.
//!
//! The body is decoded with `serde_path_to_error`, so a bad value is reported with the
//! path of the field that holds it ([`crate::field_path`]).

/// Decodes one variant body, naming the path of a bad field in the error.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(
    type_name: &str,
    body: serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        crate::field_path::nested(&e.path().to_string(), format!("{type_name}: {}", e.inner()))
    })
}

/// Splits a JSON object into its `type` tag and the rest.
pub(crate) fn split_tag(value: serde_json::Value) -> Result<(String, serde_json::Value), String> {
    let serde_json::Value::Object(mut map) = value else {
        return Err(format!(
            "expected a JSON object with a `type` field, got {}",
            kind_of(&value)
        ));
    };
    match map.remove("type") {
        Some(serde_json::Value::String(t)) => Ok((t, serde_json::Value::Object(map))),
        Some(other) => Err(format!("`type` must be a string, got {}", kind_of(&other))),
        None => Err("missing field `type`".to_string()),
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Defines an enum of newtype variants, each with a JSON type name, serialized as a
/// tagged object (see the module docs).
macro_rules! tagged_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($body:ty) = $tag:literal, )+
        }
    ) => {
        $(#[$meta])*
        // Commands and events are moved, not stored in bulk: the size spread is fine.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($body), )+
        }

        impl $name {
            /// Every JSON type name of this enum.
            pub const TYPE_NAMES: &'static [&'static str] = &[$($tag),+];

            /// The JSON type name of this variant.
            pub fn type_name(&self) -> &'static str {
                match self { $( Self::$variant(_) => $tag, )+ }
            }

            /// Serializes the body (everything but the type) to a JSON string.
            pub fn body_json(&self) -> Result<String, serde_json::Error> {
                match self { $( Self::$variant(b) => serde_json::to_string(b), )+ }
            }

            /// Decodes a body of the given type; `None` when the type is not one of ours.
            pub fn from_body(type_name: &str, body: serde_json::Value) -> Option<Result<Self, String>> {
                match type_name {
                    $( $tag => Some($crate::tagged::decode_body::<$body>(type_name, body).map(Self::$variant)), )+
                    _ => None,
                }
            }

            /// Decodes a stored body string of the given type; `None` when the type is unknown.
            pub fn from_body_str(type_name: &str, body: &str) -> Option<Result<Self, serde_json::Error>> {
                match type_name {
                    $( $tag => Some(serde_json::from_str::<$body>(body).map(Self::$variant)), )+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let body = match self {
                    $( Self::$variant(b) => serde_json::to_value(b), )+
                }
                .map_err(serde::ser::Error::custom)?;
                let mut map = match body {
                    serde_json::Value::Object(m) => m,
                    _ => return Err(serde::ser::Error::custom("a tagged body must be an object")),
                };
                map.insert("type".to_string(), serde_json::Value::String(self.type_name().to_string()));
                map.serialize(serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = serde_json::Value::deserialize(deserializer)?;
                let (type_name, body) = $crate::tagged::split_tag(value).map_err(serde::de::Error::custom)?;
                match Self::from_body(&type_name, body) {
                    Some(result) => result.map_err(serde::de::Error::custom),
                    None => Err(serde::de::Error::custom(format!(
                        "unknown type `{type_name}`, expected one of {}",
                        Self::TYPE_NAMES.join(", ")
                    ))),
                }
            }
        }
    };
}

pub(crate) use tagged_enum;
