//! The engine worker's scalar build, made loadable where WebAssembly has no SIMD.
//!
//! gemm (the matrix kernels of burn's CPU backend) compiles its simd128 microkernels into every
//! wasm32 build and runs them only when told to at run time, which the scalar build never does.
//! A browser without SIMD still refuses the whole module because of them (in a dev build: the
//! release build's LTO drops them, and this checks that it did). This replaces the
//! body of each function that uses SIMD with `unreachable` (never reached: nothing picks them),
//! drops `simd128` from the module's target features, and checks that the result validates with
//! SIMD off, so that a build that would not load fails here instead.
//!
//! usage: wasm-scalar IN.wasm OUT.wasm (run by scripts/engine-builds.sh on trunk's scalar build)

use std::process::ExitCode;

use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{CodeSection, CustomSection, Function, Instruction};
use wasmparser::{FunctionBody, Validator, WasmFeatures};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: wasm-scalar IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    match run(input, output) {
        Ok(snipped) => {
            println!("wasm-scalar: {output}: {snipped} functions with SIMD replaced; valid without SIMD");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-scalar: {input}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, output: &str) -> Result<usize, String> {
    let bytes = std::fs::read(input).map_err(|e| e.to_string())?;
    let (scalar, snipped) = without_simd(&bytes)?;
    check(&scalar)?;
    std::fs::write(output, scalar).map_err(|e| e.to_string())?;
    Ok(snipped)
}

/// The module with every function that uses SIMD stubbed out, and how many there were.
fn without_simd(bytes: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut stubber = Stubber { stubbed: 0 };
    let mut module = wasm_encoder::Module::new();
    stubber
        .parse_core_module(&mut module, wasmparser::Parser::new(0), bytes)
        .map_err(|e| format!("could not rewrite the module: {e}"))?;
    Ok((module.finish(), stubber.stubbed))
}

/// The module validates with the features of WebAssembly 2.0 less SIMD.
fn check(bytes: &[u8]) -> Result<(), String> {
    let features = WasmFeatures::WASM2.difference(WasmFeatures::SIMD);
    Validator::new_with_features(features)
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| format!("invalid without SIMD: {e}"))
}

struct Stubber {
    stubbed: usize,
}

impl Reencode for Stubber {
    type Error = wasmparser::BinaryReaderError;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        if !uses_simd(&body).map_err(Error::ParseError)? {
            return utils::parse_function_body(self, code, body);
        }
        let mut stub = Function::new([]);
        stub.instruction(&Instruction::Unreachable);
        stub.instruction(&Instruction::End);
        code.function(&stub);
        self.stubbed += 1;
        Ok(())
    }

    fn custom_section<'a>(
        &mut self,
        section: wasmparser::CustomSectionReader<'a>,
    ) -> Result<CustomSection<'a>, Error<Self::Error>> {
        if section.name() != "target_features" {
            return Ok(utils::custom_section(self, section));
        }
        Ok(CustomSection { name: section.name().into(), data: without_simd128_feature(section.data()).into() })
    }
}

/// Whether a function body declares a v128 local or uses a SIMD instruction (their names, as
/// wasmparser spells them, start with the vector's shape).
fn uses_simd(body: &FunctionBody<'_>) -> Result<bool, wasmparser::BinaryReaderError> {
    for local in body.get_locals_reader()? {
        if local?.1 == wasmparser::ValType::V128 {
            return Ok(true);
        }
    }
    const SHAPES: [&str; 7] = ["V128", "I8x16", "I16x8", "I32x4", "I64x2", "F32x4", "F64x2"];
    let mut operators = body.get_operators_reader()?;
    while !operators.eof() {
        let name = format!("{:?}", operators.read()?);
        if SHAPES.iter().any(|shape| name.starts_with(shape)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `target_features` section without its `simd128` entry: a count, then for each entry a
/// prefix byte and a name (tool-conventions' Linking.md).
fn without_simd128_feature(data: &[u8]) -> Vec<u8> {
    let mut reader = wasmparser::BinaryReader::new(data, 0);
    let mut kept: Vec<(u8, String)> = Vec::new();
    let parsed = (|| -> wasmparser::Result<()> {
        for _ in 0..reader.read_var_u32()? {
            let prefix = reader.read_u8()?;
            let name = reader.read_string()?.to_string();
            if name != "simd128" {
                kept.push((prefix, name));
            }
        }
        Ok(())
    })();
    if parsed.is_err() {
        return data.to_vec();
    }
    let mut out = Vec::new();
    leb128(&mut out, kept.len() as u32);
    for (prefix, name) in kept {
        out.push(prefix);
        leb128(&mut out, name.len() as u32);
        out.extend_from_slice(name.as_bytes());
    }
    out
}

fn leb128(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module of two functions, one with a SIMD instruction: that one is stubbed, and the
    /// result validates without SIMD where the input does not.
    #[test]
    fn only_the_functions_with_simd_are_stubbed_and_the_rest_is_kept() {
        let mut module = wasm_encoder::Module::new();
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([], [wasm_encoder::ValType::I32]);
        module.section(&types);
        let mut functions = wasm_encoder::FunctionSection::new();
        functions.function(0);
        functions.function(0);
        module.section(&functions);
        let mut code = CodeSection::new();
        let mut plain = Function::new([]);
        plain.instruction(&Instruction::I32Const(7));
        plain.instruction(&Instruction::End);
        code.function(&plain);
        let mut vector = Function::new([]);
        vector.instruction(&Instruction::I32Const(0));
        vector.instruction(&Instruction::I8x16Splat);
        vector.instruction(&Instruction::I8x16ExtractLaneS(0));
        vector.instruction(&Instruction::End);
        code.function(&vector);
        module.section(&code);
        let bytes = module.finish();

        assert!(check(&bytes).is_err(), "the input uses SIMD");
        let (scalar, stubbed) = without_simd(&bytes).unwrap();
        assert_eq!(stubbed, 1);
        check(&scalar).unwrap();
        // The plain function is unchanged; the other now traps.
        let mut bodies = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&scalar) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let mut ops = body.get_operators_reader().unwrap();
                let mut names = Vec::new();
                while !ops.eof() {
                    names.push(format!("{:?}", ops.read().unwrap()));
                }
                bodies.push(names);
            }
        }
        assert_eq!(bodies, [vec!["I32Const { value: 7 }", "End"], vec!["Unreachable", "End"]]);
    }

    #[test]
    fn the_target_features_lose_simd128_only() {
        let mut data = Vec::new();
        leb128(&mut data, 2);
        for name in ["simd128", "bulk-memory"] {
            data.push(b'+');
            leb128(&mut data, name.len() as u32);
            data.extend_from_slice(name.as_bytes());
        }
        let kept = without_simd128_feature(&data);
        assert_eq!(kept, [&[1u8, b'+', 11][..], b"bulk-memory"].concat());
    }
}
