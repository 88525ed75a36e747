//! Properties of every transformation: no panic on any bytes, and a "changed" flag that agrees
//! with the output wherever libmodsecurity derives the flag from the output. Plus linear time on
//! large inputs built to trip quadratic code.
//!
//! Where libmodsecurity's flag is not `out != input` (checked against libmodsecurity 3.0.15),
//! the weaker property that does hold is asserted instead; see `flag_relation`.

use proptest::prelude::*;
use seclang_parser::names::TransformationName as N;
use waf_core::transformations::{get, url_decode_uni_with_map, UnicodeMap};

/// How libmodsecurity's flag relates to the output, for one transformation.
enum Flag {
    /// `changed == (out != input)`.
    Differs,
    /// `changed == (out.len() != input.len())` (cmdLine, compressWhitespace).
    LengthDiffers,
    /// `changed` implies `out != input`, not the converse (cssDecode and utf8toUnicode drop bytes
    /// without reporting it; normalizePath does not report a final back-reference).
    ImpliesDiffers,
    /// `out != input` implies `changed`, not the converse (lowercase and uppercase report bytes
    /// 0x80..=0xfe as changes).
    DiffersImplies,
    /// Always `true` for some inputs whatever the output (length, md5, sha1, parity*).
    Constant,
}

fn flag_relation(name: N) -> Flag {
    match name {
        N::CmdLine | N::CompressWhitespace => Flag::LengthDiffers,
        N::CssDecode | N::Utf8ToUnicode | N::NormalizePath | N::NormalizePathWin => {
            Flag::ImpliesDiffers
        }
        N::Lowercase | N::Uppercase => Flag::DiffersImplies,
        N::Length | N::Md5 | N::Sha1 | N::ParityEven7bit | N::ParityOdd7bit | N::ParityZero7bit => {
            Flag::Constant
        }
        _ => Flag::Differs,
    }
}

/// Pieces the decoders care about, so random inputs reach their branches.
const PIECES: &[&[u8]] = &[
    b"%",
    b"%u",
    b"%U",
    b"ff",
    b"FF",
    b"0",
    b"4",
    b"a",
    b"g",
    b"+",
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\x0b",
    b"\0",
    b"\\",
    b"x",
    b"u",
    b"&",
    b"#",
    b";",
    b"lt",
    b"amp",
    b"nbsp",
    b"/",
    b"*",
    b"<!--",
    b"-->",
    b"--",
    b"..",
    b".",
    b"=",
    b"9",
    b"Q",
    b"0x",
    b"\xc2",
    b"\xa0",
    b"\xc3\xa9",
    b"\xe2\x82",
    b"\xf0\x9f\x98\x80",
    b"\xf5",
    b"\xff",
    b"\x80",
    b"'",
    b"\"",
    b"^",
    b",",
    b"(",
];

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(proptest::sample::select(PIECES), 0..48).prop_map(|p| p.concat()),
    ]
}

fn all_functions() -> impl Iterator<Item = (N, waf_core::transformations::TransformFn)> {
    N::ALL.iter().filter_map(|&n| get(n).map(|f| (n, f)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn changed_flag_matches_the_output(input in inputs()) {
        let mut out = vec![b'?'; 3]; // Not cleared by the caller: the function must clear it.
        for (name, f) in all_functions() {
            let changed = f(&input, &mut out);
            let differs = out != input;
            match flag_relation(name) {
                Flag::Differs => prop_assert_eq!(changed, differs, "t:{}", name),
                Flag::LengthDiffers => {
                    prop_assert_eq!(changed, out.len() != input.len(), "t:{}", name)
                }
                Flag::ImpliesDiffers => prop_assert!(!changed || differs, "t:{}", name),
                Flag::DiffersImplies => prop_assert!(!differs || changed, "t:{}", name),
                Flag::Constant => {}
            }
        }
    }

    #[test]
    fn unicode_maps_never_panic(file in inputs(), code_page in 0u32..70000, input in inputs()) {
        let map = UnicodeMap::parse(&file, code_page);
        let mut out = Vec::new();
        url_decode_uni_with_map(&input, &mut out, &map);
    }
}

/// 256 KiB of each pattern through every transformation: a quadratic step would take tens of
/// seconds here (even optimised), a linear one milliseconds.
#[test]
fn large_inputs_run_in_linear_time() {
    const SIZE: usize = 256 << 10;
    let patterns: &[&[u8]] = &[
        b"%u",
        b"%",
        b"\\",
        b"\\u00",
        b"&#",
        b"&#x1",
        b"&lt",
        b"/*",
        b"*/",
        b"<!--",
        b"../",
        b"a/../",
        b"\\..\\",
        b"//",
        b"./",
        b"0x41",
        b"QUJD",
        b"\xe2\x82",
        b"\xc2\xa0 ",
        b"  ",
        b"1",
    ];
    let mut out = Vec::new();
    for pattern in patterns {
        let input: Vec<u8> = pattern.iter().copied().cycle().take(SIZE).collect();
        for (name, f) in all_functions() {
            let start = std::time::Instant::now();
            f(&input, &mut out);
            let elapsed = start.elapsed();
            assert!(
                elapsed < std::time::Duration::from_secs(5),
                "t:{name} on 256 KiB of {:?}: {elapsed:?}",
                String::from_utf8_lossy(pattern)
            );
        }
    }
}
