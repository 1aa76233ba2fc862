//! `Patch<T>`: a field of an update that is either left alone (absent), cleared (`null`)
//! or set (a value).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// The field is absent: no change.
    #[default]
    Unchanged,
    /// `null`: remove the value.
    Clear,
    /// Set to this value.
    Set(T),
}

impl<T> Patch<T> {
    /// The patch that makes a field `value`: set it, or clear it when there is none.
    pub fn to(value: Option<T>) -> Self {
        match value {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        }
    }

    pub fn is_unchanged(&self) -> bool {
        matches!(self, Patch::Unchanged)
    }

    /// The field's value after applying this patch to `current`.
    pub fn apply_to(&self, current: &Option<T>) -> Option<T>
    where
        T: Clone,
    {
        match self {
            Patch::Unchanged => current.clone(),
            Patch::Clear => None,
            Patch::Set(v) => Some(v.clone()),
        }
    }

    /// This patch reduced to what changes `current`: `Unchanged` when it would not.
    pub fn effective_against(&self, current: &Option<T>) -> Patch<T>
    where
        T: Clone + PartialEq,
    {
        match self {
            Patch::Unchanged => Patch::Unchanged,
            Patch::Clear if current.is_none() => Patch::Unchanged,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) if current.as_ref() == Some(v) => Patch::Unchanged,
            Patch::Set(v) => Patch::Set(v.clone()),
        }
    }

    /// Merges a later patch onto this one: the later value wins where it says anything.
    pub fn then(self, later: Patch<T>) -> Patch<T> {
        match later {
            Patch::Unchanged => self,
            other => other,
        }
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Unchanged | Patch::Clear => serializer.serialize_none(),
            Patch::Set(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called when the field is present (absent fields use `Default`).
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Clear,
            Some(v) => Patch::Set(v),
        })
    }
}
