//! Canonical JSON, written straight from a `Serialize` value: object keys
//! in byte order, no whitespace, strings escaped as `serde_json` escapes
//! them. The audit hashes and the plan digest cover this encoding, so its
//! bytes are a stored format: they must equal, for every value, what
//! building a `serde_json::Value` and writing it key-sorted gives (the
//! module's tests compare the two on the machine's own events and on
//! generated values). Writing it directly spares the `Value` tree: a
//! `String` per key and per string, a map node per object, all dropped
//! right after.
//!
//! Objects are the only part that cannot stream: their members are written
//! in the order the type declares them, so each member's value goes into a
//! scratch buffer and the members are put in key order when the object
//! ends. Of two members with one key the last stands, as in a `Value` map.

use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// Why a value has no canonical encoding here: a key that is not a string
/// or a number, or a number `serde_json` would not hold without its
/// `arbitrary_precision` feature. The caller then takes the `Value` path,
/// which decides the same cases as it always has.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no canonical encoding for this value")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// `value`'s canonical JSON, leaving out the top-level member `omit` (the
/// hash an audit event carries is not covered by itself).
pub(crate) fn to_vec(value: &impl Serialize, omit: Option<&str>) -> Result<Vec<u8>, Unsupported> {
    let mut out = Vec::with_capacity(512);
    value.serialize(Writer {
        out: &mut out,
        omit,
    })?;
    Ok(out)
}

/// What an object's scratch buffer starts with: most members of the
/// audited types fit, so few objects grow theirs.
const SCRATCH: usize = 256;

/// Writes one value at the end of `out`.
struct Writer<'a, 'o> {
    out: &'a mut Vec<u8>,
    /// The member to leave out, at this level only.
    omit: Option<&'o str>,
}

fn string(out: &mut Vec<u8>, value: &str) -> Result<(), Unsupported> {
    if needs_escape(value.as_bytes()) {
        serde_json::to_writer(out, value).map_err(|_| Unsupported)
    } else {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        Ok(())
    }
}

/// Whether `serde_json` would escape any of these bytes: the control
/// characters, the quote and the backslash, nothing else (text without
/// them is copied as it is). A fold with no early exit, which the compiler
/// turns into a loop over many bytes at once; a word-at-a-time version of
/// the test measured no fewer instructions on the audited strings.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

fn number(out: &mut Vec<u8>, value: impl Serialize) -> Result<(), Unsupported> {
    serde_json::to_writer(out, &value).map_err(|_| Unsupported)
}

impl<'a, 'o> ser::Serializer for Writer<'a, 'o> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Wrapped<Seq<'a>>;
    type SerializeMap = Object<'a, 'o>;
    type SerializeStruct = Object<'a, 'o>;
    type SerializeStructVariant = Wrapped<Object<'a, 'o>>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        // A `Value` holds what fits in 64 bits and refuses the rest.
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(v), _) => number(self.out, v),
            (_, Ok(v)) => number(self.out, v),
            _ => Err(Unsupported),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        number(self.out, u64::try_from(v).map_err(|_| Unsupported)?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        // A `Value` keeps an `f32` as the `f64` it converts to.
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        if v.is_finite() {
            number(self.out, v)
        } else {
            // A `Value` has no infinities or NaN: they become null.
            self.out.extend_from_slice(b"null");
            Ok(())
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        string(self.out, v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        string(self.out, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        // A `Value` holds bytes as an array of numbers.
        self.out.push(b'[');
        for (i, byte) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            number(self.out, byte)?;
        }
        self.out.push(b']');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        string(self.out, variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.out.push(b'{');
        string(self.out, variant)?;
        self.out.push(b':');
        value.serialize(Writer {
            out: self.out,
            omit: None,
        })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, Unsupported> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Wrapped<Seq<'a>>, Unsupported> {
        self.out.push(b'{');
        string(self.out, variant)?;
        self.out.extend_from_slice(b":[");
        Ok(Wrapped(Seq {
            out: self.out,
            first: true,
        }))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a, 'o>, Unsupported> {
        Ok(Object {
            out: self.out,
            omit: self.omit,
            members: Vec::with_capacity(len.unwrap_or(8)),
            scratch: Vec::with_capacity(SCRATCH),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Object<'a, 'o>, Unsupported> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Wrapped<Object<'a, 'o>>, Unsupported> {
        self.out.push(b'{');
        string(self.out, variant)?;
        self.out.push(b':');
        Ok(Wrapped(Object {
            out: self.out,
            omit: None,
            members: Vec::with_capacity(len),
            scratch: Vec::with_capacity(SCRATCH),
            key: None,
        }))
    }
}

/// An array's items, written as they come.
pub(crate) struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Seq<'_> {
    fn item<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Writer {
            out: self.out,
            omit: None,
        })
    }
    fn close(self) {
        self.out.push(b']');
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.item(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.item(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.item(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

/// A variant holding a tuple or a struct: `{"variant": …}` around it.
pub(crate) struct Wrapped<T>(T);

impl ser::SerializeTupleVariant for Wrapped<Seq<'_>> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.0.item(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.0.out.extend_from_slice(b"]}");
        Ok(())
    }
}

impl ser::SerializeStructVariant for Wrapped<Object<'_, '_>> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.0.member(key.into(), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        let out = self.0.close();
        out.push(b'}');
        Ok(())
    }
}

/// An object's members: each value written to `scratch`, the members put
/// in key order at the end.
pub(crate) struct Object<'a, 'o> {
    out: &'a mut Vec<u8>,
    omit: Option<&'o str>,
    /// Each member's key and where its value lies in `scratch`.
    members: Vec<(std::borrow::Cow<'static, str>, std::ops::Range<usize>)>,
    scratch: Vec<u8>,
    /// A map's key, between `serialize_key` and `serialize_value`.
    key: Option<String>,
}

impl<'a> Object<'a, '_> {
    fn member<T: ?Sized + Serialize>(
        &mut self,
        key: std::borrow::Cow<'static, str>,
        value: &T,
    ) -> Result<(), Unsupported> {
        if self.omit == Some(&*key) {
            return Ok(());
        }
        let start = self.scratch.len();
        value.serialize(Writer {
            out: &mut self.scratch,
            omit: None,
        })?;
        self.members.push((key, start..self.scratch.len()));
        Ok(())
    }

    /// Writes the object and answers the buffer it went to.
    fn close(self) -> &'a mut Vec<u8> {
        let Object {
            out,
            mut members,
            scratch,
            ..
        } = self;
        // Stable: of equal keys the one added last stays last.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(b'{');
        let mut first = true;
        let mut members = members.into_iter().peekable();
        while let Some((key, range)) = members.next() {
            if members.peek().is_some_and(|next| next.0 == key) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            // A key is a string; `string` cannot fail on one.
            let _ = string(out, &key);
            out.push(b':');
            out.extend_from_slice(scratch.get(range).unwrap_or_default());
        }
        out.push(b'}');
        out
    }
}

impl ser::SerializeStruct for Object<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.member(key.into(), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.key = Some(key.serialize(Key)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        let key = self.key.take().ok_or(Unsupported)?;
        self.member(key.into(), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

/// A map key as a `Value` map takes it: a string, or a number or a
/// character written as one.
struct Key;

impl ser::Serializer for Key {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = Impossible<String, Unsupported>;
    type SerializeTuple = Impossible<String, Unsupported>;
    type SerializeTupleStruct = Impossible<String, Unsupported>;
    type SerializeTupleVariant = Impossible<String, Unsupported>;
    type SerializeMap = Impossible<String, Unsupported>;
    type SerializeStruct = Impossible<String, Unsupported>;
    type SerializeStructVariant = Impossible<String, Unsupported>;

    fn serialize_str(self, v: &str) -> Result<String, Unsupported> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Unsupported> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Unsupported> {
        value.serialize(self)
    }
    fn serialize_i8(self, v: i8) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    // Every other kind of key: the `Value` path decides.
    fn serialize_bool(self, _: bool) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::to_vec;
    use serde::Serialize;
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    /// The reference: the value as a `serde_json::Value`, written with its
    /// keys sorted (the path every stored hash was made with).
    fn through_value(value: &impl Serialize, omit: Option<&str>) -> String {
        let mut value = serde_json::to_value(value).unwrap();
        if let (Some(map), Some(omit)) = (value.as_object_mut(), omit) {
            map.remove(omit);
        }
        let mut out = String::new();
        crate::audit::write_canonical(&value, &mut out);
        out
    }

    fn direct(value: &impl Serialize, omit: Option<&str>) -> String {
        String::from_utf8(to_vec(value, omit).unwrap()).unwrap()
    }

    /// A small deterministic generator (xorshift), seeded by the test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn text(&mut self) -> String {
            const PIECES: [&str; 12] = [
                "a", "B", "z", "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "𝄞", "\u{7f}", " ",
            ];
            (0..self.below(6))
                .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
                .collect()
        }
        fn value(&mut self, depth: u32) -> Value {
            match self.below(if depth == 0 { 6 } else { 8 }) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 0),
                2 => json!(self.next()),
                3 => json!(-(self.below(1 << 40) as i64)),
                4 => json!([0.1, -0.0, 1e300, 2.5e-8, 123456.0][self.below(5) as usize]),
                5 => Value::String(self.text()),
                6 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
                _ => Value::Object(
                    (0..self.below(6))
                        .map(|_| (self.text(), self.value(depth - 1)))
                        .collect(),
                ),
            }
        }
    }

    /// Two thousand generated documents (keys and strings with quotes,
    /// backslashes, control characters and characters beyond the BMP;
    /// integers, negative integers, fractions) encode byte for byte alike
    /// by both paths, with and without a member left out.
    #[test]
    fn generated_values_encode_as_the_value_path_does() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let value = rng.value(4);
            assert_eq!(direct(&value, None), through_value(&value, None));
            let omit = rng.text();
            assert_eq!(
                direct(&value, Some(&omit)),
                through_value(&value, Some(&omit))
            );
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Shapes {
        Unit,
        Newtype(u8),
        Tuple(u8, &'static str),
        Struct { z: u8, a: Option<u8> },
    }

    #[derive(Serialize)]
    struct Everything {
        zeta: Vec<Shapes>,
        alpha: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        bytes: &'static [u8],
        small: f32,
        wide: i128,
        infinite: f64,
        by_number: BTreeMap<u32, char>,
        #[serde(flatten)]
        extra: BTreeMap<&'static str, u8>,
        unit: (),
        pair: (u16, i8),
        hash: &'static str,
    }

    /// Every shape serde gives a type: the four kinds of enum variant,
    /// none, skipped fields, bytes, an `f32`, a 128-bit integer, an
    /// infinity, numeric map keys, flattened members, unit and tuples.
    #[test]
    fn every_serde_shape_encodes_as_the_value_path_does() {
        let value = Everything {
            zeta: vec![
                Shapes::Unit,
                Shapes::Newtype(7),
                Shapes::Tuple(1, "x"),
                Shapes::Struct { z: 2, a: None },
            ],
            alpha: None,
            skipped: None,
            bytes: b"\x00\xff",
            small: 0.1,
            wide: -5,
            infinite: f64::INFINITY,
            by_number: [(10, 'é'), (9, '"')].into_iter().collect(),
            extra: [("beta", 1), ("aardvark", 2)].into_iter().collect(),
            unit: (),
            pair: (65535, -128),
            hash: "left out",
        };
        for omit in [None, Some("hash"), Some("beta")] {
            assert_eq!(direct(&value, omit), through_value(&value, omit));
        }
        assert!(!direct(&value, Some("hash")).contains("left out"));
    }

    /// The escape test agrees with the plain one for every byte value at
    /// every place of a string, beside neighbours that are and are not
    /// escaped themselves.
    #[test]
    fn the_escape_test_agrees_with_the_plain_one() {
        let plain = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for filler in [b'a', 0x7f, 0xc3, b' ', b'!', b'#', b'[', b']'] {
            for place in 0..19 {
                for byte in 0..=255u8 {
                    let mut text = vec![filler; 19];
                    text[place] = byte;
                    assert_eq!(super::needs_escape(&text), plain(&text), "{text:?}");
                    assert_eq!(super::needs_escape(&text[..place]), plain(&text[..place]));
                }
            }
        }
    }

    /// A member given twice (a flattened map repeating a field) keeps the
    /// last value, as a `Value` map does.
    #[test]
    fn of_two_members_with_one_key_the_last_stands() {
        #[derive(Serialize)]
        struct Twice {
            a: u8,
            #[serde(flatten)]
            more: BTreeMap<&'static str, u8>,
        }
        let value = Twice {
            a: 1,
            more: [("a", 2), ("b", 3)].into_iter().collect(),
        };
        assert_eq!(direct(&value, None), r#"{"a":2,"b":3}"#);
        assert_eq!(direct(&value, None), through_value(&value, None));
    }

    /// What the direct writer leaves to the `Value` path, it refuses
    /// rather than guesses: a key that is neither text nor a number.
    #[test]
    fn keys_it_cannot_decide_are_left_to_the_value_path() {
        let value: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert!(to_vec(&value, None).is_err());
        let huge = u128::MAX;
        assert!(to_vec(&huge, None).is_err());
    }
}
