//! Internally tagged enums (`{"type": "pong", "n": 1, …}`) written and read without serde's
//! buffering.
//!
//! serde's derive reads an internally tagged enum (`#[serde(tag = "type")]`) by buffering the
//! whole object into its own tree first, since the tag may come anywhere, and then reads the
//! variant again from that tree: every message costs a second pass and an allocation per value,
//! and every type inside gets a second deserializer in the code (21.7 kB of the phone page's gzip
//! budget for the server's messages and the engine's commands).
//!
//! Where one writer always puts the tag first, as every serde writer does, the enum can be read
//! in one pass instead. Such an enum derives its impls as an externally tagged one, under
//! `#[serde(remote = "Self")]` (which makes them inherent functions), and [`tagged!`](crate::tagged)
//! implements `Serialize` and `Deserialize` through [`Tagged`], which turns the one form into the
//! other on the fly. The JSON is the internally tagged form, byte for byte. Reading refuses an
//! object whose first member is not the tag, with an error that says so; so a
//! `serde_json::Value`, which sorts its members by name, does not read back: read the text.
//!
//! Used for what only BandSync writes: [`ServerMsg`](crate::ServerMsg), which members read, and
//! the page engine's commands. What third parties write (`ClientMsg`) keeps serde's buffering,
//! which takes the tag anywhere. Unlike serde's, a second tag member is ignored as an unknown
//! field, and nothing checks at compile time that no variant has a field named like the tag.

use serde::de::{self, DeserializeSeed, EnumAccess, IgnoredAny, MapAccess, VariantAccess, Visitor};
use serde::ser::{self, Impossible, SerializeMap, SerializeStruct, SerializeStructVariant};
use serde::{Deserializer, Serializer, forward_to_deserialize_any};
use std::fmt;

/// Implements `Serialize` and `Deserialize` (or only `Deserialize`) for an enum that derives them
/// under `#[serde(remote = "Self")]`, internally tagged by the given member, read tag first.
#[macro_export]
macro_rules! tagged {
    ($ty:ident, $tag:literal) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                $ty::serialize(self, $crate::tagged::Tagged::new($tag, s))
            }
        }
        $crate::tagged!(@de $ty, $tag);
    };
    (@de $ty:ident, $tag:literal) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                $ty::deserialize($crate::tagged::Tagged::new($tag, d))
            }
        }
    };
}

/// A serializer or deserializer that writes or reads externally tagged variants in the
/// internally tagged form, with the tag named `tag`.
pub struct Tagged<T> {
    tag: &'static str,
    inner: T,
}

impl<T> Tagged<T> {
    /// Wraps `inner`.
    pub fn new(tag: &'static str, inner: T) -> Self {
        Tagged { tag, inner }
    }
}

fn refused<E: ser::Error>() -> E {
    E::custom("an internally tagged enum's variant must be a struct, a unit or one struct")
}

/// The serializer methods that nothing of these enums calls: each refuses.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ret, S::Error> { Err(refused()) })*
    };
}

/// Every serializer method but the variants' and a struct's (or map's): refused, but a newtype
/// struct, which is its value.
macro_rules! refuse_plain {
    () => {
        type SerializeSeq = Impossible<S::Ok, S::Error>;
        type SerializeTuple = Impossible<S::Ok, S::Error>;
        type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
        type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
        refuse! {
            serialize_bool(bool) -> S::Ok; serialize_i8(i8) -> S::Ok; serialize_i16(i16) -> S::Ok;
            serialize_i32(i32) -> S::Ok; serialize_i64(i64) -> S::Ok; serialize_u8(u8) -> S::Ok;
            serialize_u16(u16) -> S::Ok; serialize_u32(u32) -> S::Ok; serialize_u64(u64) -> S::Ok;
            serialize_f32(f32) -> S::Ok; serialize_f64(f64) -> S::Ok; serialize_char(char) -> S::Ok;
            serialize_str(&str) -> S::Ok; serialize_bytes(&[u8]) -> S::Ok; serialize_none() -> S::Ok;
            serialize_unit() -> S::Ok; serialize_unit_struct(&'static str) -> S::Ok;
            serialize_seq(Option<usize>) -> Self::SerializeSeq;
            serialize_tuple(usize) -> Self::SerializeTuple;
            serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
            serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        }
        fn serialize_some<V: ?Sized + ser::Serialize>(self, _: &V) -> Result<S::Ok, S::Error> {
            Err(refused())
        }

        fn serialize_newtype_struct<V: ?Sized + ser::Serialize>(
            self,
            _: &'static str,
            v: &V,
        ) -> Result<S::Ok, S::Error> {
            v.serialize(self)
        }
    };
}

impl<S: Serializer> Serializer for Tagged<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = Impossible<S::Ok, S::Error>;
    type SerializeStructVariant = Fields<S::SerializeStruct>;
    refuse_plain!();
    refuse! {
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
    }

    fn serialize_unit_variant(self, name: &'static str, _: u32, variant: &'static str) -> Result<S::Ok, S::Error> {
        let mut s = self.inner.serialize_struct(name, 1)?;
        s.serialize_field(self.tag, variant)?;
        s.end()
    }

    fn serialize_newtype_variant<V: ?Sized + ser::Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &V,
    ) -> Result<S::Ok, S::Error> {
        v.serialize(Within { tag: self.tag, variant, inner: self.inner })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Fields<S::SerializeStruct>, S::Error> {
        let mut s = self.inner.serialize_struct(name, len + 1)?;
        s.serialize_field(self.tag, variant)?;
        Ok(Fields(s))
    }
}

/// A struct variant's fields, written as the struct's after its tag.
pub struct Fields<S>(S);

impl<S: SerializeStruct> SerializeStructVariant for Fields<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<V: ?Sized + ser::Serialize>(&mut self, key: &'static str, v: &V) -> Result<(), S::Error> {
        self.0.serialize_field(key, v)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

/// A newtype variant's struct (or map), written with the tag first.
struct Within<S> {
    tag: &'static str,
    variant: &'static str,
    inner: S,
}

impl<S: Serializer> Serializer for Within<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;
    refuse_plain!();
    refuse! {
        serialize_unit_variant(&'static str, u32, &'static str) -> S::Ok;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_newtype_variant<V: ?Sized + ser::Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<S::Ok, S::Error> {
        Err(refused())
    }

    fn serialize_map(self, len: Option<usize>) -> Result<S::SerializeMap, S::Error> {
        let mut m = self.inner.serialize_map(len.map(|n| n + 1))?;
        m.serialize_entry(self.tag, self.variant)?;
        Ok(m)
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<S::SerializeStruct, S::Error> {
        let mut s = self.inner.serialize_struct(name, len + 1)?;
        s.serialize_field(self.tag, self.variant)?;
        Ok(s)
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tagged<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, D::Error> {
        Err(de::Error::custom("only an enum reads internally tagged, tag first"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(TagFirst { tag: self.tag, visitor })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Reads the object's first member, which must be the tag, and hands the enum's visitor the
/// variant it names, with the rest of the object as the variant's fields.
struct TagFirst<V> {
    tag: &'static str,
    visitor: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TagFirst<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object whose first member is `{}`", self.tag)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        if map.next_key_seed(Is(self.tag))? != Some(true) {
            return Err(de::Error::custom(format_args!("`{}` must be the object's first member", self.tag)));
        }
        self.visitor.visit_enum(Rest(map))
    }
}

/// Whether a key is the tag.
struct Is(&'static str);

impl<'de> DeserializeSeed<'de> for Is {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Is {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member's name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// The object after its tag's name: the tag's value names the variant, and the members after it
/// are the variant's.
struct Rest<A>(A);

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Rest<A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(mut self, seed: S) -> Result<(S::Value, Self), A::Error> {
        let variant = self.0.next_value_seed(seed)?;
        Ok((variant, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Rest<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        // As serde's buffered reading does: what else the object holds is ignored.
        while self.0.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        seed.deserialize(de::value::MapAccessDeserializer::new(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("an internally tagged enum has no tuple variants"))
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}

#[cfg(test)]
mod tests;
