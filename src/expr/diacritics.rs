//! `NormalizeDiacritics`: Entra's documented folding table.
//!
//! Every precomposed character of the table in Entra's function reference maps to
//! the replacement the table gives. The table also lists sequences of a letter and
//! combining marks (`ā́`, `e̱`, `u̇̄`, ...): those are handled by dropping the
//! combining diacritical marks (U+0300 to U+036F) that follow an ASCII letter once
//! its base letter has been folded. Two additions, needed to fold the table's own
//! sequences `œ̄` and `ṳ̄`: `œ`/`Œ` fold to `oe`/`OE`, `ṳ`/`Ṳ` to `u`/`U`.
//! Every other character is left as it is.

use std::borrow::Cow;

/// The replacement of one precomposed character, if the table has one.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' | 'à' | 'â' | 'ã' | 'å' | 'á' | 'ą' | 'ă' | 'ā' | 'ǟ' | 'ǡ' => "a",
        'Ä' | 'À' | 'Â' | 'Ã' | 'Å' | 'Á' | 'Ą' | 'Ă' | 'Ā' | 'Ǟ' | 'Ǡ' => "A",
        'æ' | 'ǣ' => "ae",
        'Æ' | 'Ǣ' => "AE",
        'ç' | 'č' | 'ć' => "c",
        'Ç' | 'Č' | 'Ć' => "C",
        'ď' | 'ḏ' => "d",
        'Ď' | 'Ḏ' => "D",
        'ë' | 'è' | 'é' | 'ê' | 'ę' | 'ě' | 'ė' | 'ē' | 'ḗ' | 'ḕ' => "e",
        'Ë' | 'È' | 'É' | 'Ê' | 'Ę' | 'Ě' | 'Ė' | 'Ē' | 'Ḗ' | 'Ḕ' => "E",
        'ğ' | 'ḡ' => "g",
        'Ğ' | 'Ḡ' => "G",
        'ï' | 'î' | 'ì' | 'í' | 'ı' | 'ī' => "i",
        'Ï' | 'Î' | 'Ì' | 'Í' | 'İ' | 'Ī' => "I",
        'ľ' | 'ł' | 'ḹ' | 'ḻ' => "l",
        'Ł' | 'Ľ' | 'Ḹ' | 'Ḻ' => "L",
        'ñ' | 'ń' | 'ň' | 'ṉ' => "n",
        'Ñ' | 'Ń' | 'Ň' | 'Ṉ' => "N",
        'ö' | 'ò' | 'ő' | 'õ' | 'ô' | 'ó' | 'ō' | 'ṓ' | 'ṑ' | 'ȫ' | 'ǭ' | 'ȭ' | 'ȱ' => "o",
        'Ö' | 'Ò' | 'Ő' | 'Õ' | 'Ô' | 'Ó' | 'Ō' | 'Ṓ' | 'Ṑ' | 'Ȫ' | 'Ǭ' | 'Ȭ' | 'Ȱ' => "O",
        'ø' => "oe",
        'Ø' => "OE",
        'ř' | 'ṟ' | 'ṝ' => "r",
        'Ř' | 'Ṟ' | 'Ṝ' => "R",
        'ß' => "ss",
        'š' | 'ś' | 'ș' | 'ş' => "s",
        'Š' | 'Ś' | 'Ș' | 'Ş' => "S",
        'ť' | 'ț' | 'ṯ' => "t",
        'Ť' | 'Ț' | 'Ṯ' => "T",
        'ü' | 'ù' | 'û' | 'ú' | 'ů' | 'ű' | 'ū' | 'ǖ' | 'ṻ' => "u",
        'Ü' | 'Ù' | 'Û' | 'Ú' | 'Ů' | 'Ű' | 'Ū' | 'Ǖ' | 'Ṻ' => "U",
        'ÿ' | 'ý' | 'ȳ' => "y",
        'Ÿ' | 'Ý' | 'Ȳ' => "Y",
        'ź' | 'ž' | 'ż' | 'ẕ' => "z",
        'Ź' | 'Ž' | 'Ż' | 'Ẕ' => "Z",
        // Not in the table on their own, but needed for its sequences `œ̄` and `ṳ̄`.
        'œ' => "oe",
        'Œ' => "OE",
        'ṳ' => "u",
        'Ṳ' => "U",
        _ => return None,
    })
}

fn is_combining_diacritic(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Folds `s` with the table; borrows when nothing changes (any ASCII string).
pub(super) fn normalize(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    // Whether the last character written is an ASCII letter, after which
    // combining diacritical marks are dropped.
    let mut after_letter = false;
    let mut changed = false;
    for c in s.chars() {
        if after_letter && is_combining_diacritic(c) {
            changed = true;
            continue;
        }
        if let Some(rep) = fold(c) {
            out.push_str(rep);
            changed = true;
            after_letter = true;
        } else {
            out.push(c);
            after_letter = c.is_ascii_alphabetic();
        }
    }
    if changed { Cow::Owned(out) } else { Cow::Borrowed(s) }
}
