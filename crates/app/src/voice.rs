//! Teach it your voice, in the page: takes recorded or chosen per emotion, the model adapted to
//! them by the core's [`timnet::adapt`] (the routine `timnet adapt` runs, in the engine worker),
//! kept in the browser's storage across reloads (by the page: workers have no local storage),
//! and exported or imported as the two files `timnet adapt` writes (model.json and model.bpk),
//! so that the page and the CLI read each other's.

use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use timnet::weights::{Sidecar, shipped};

use crate::error::PageError;

/// A model adapted to the person: its files as `timnet adapt` writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Personal {
    pub sidecar_json: Arc<str>,
    pub record: Arc<[u8]>,
}

/// What adapting found, in the person's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The adapted model; none where adapting got fewer of the takes right and the guard kept
    /// the model as it was.
    pub personal: Option<Personal>,
    /// The share of the person's takes whose emotion is the top answer, each scored by a model
    /// adapted without it: before adapting and after.
    pub before: f32,
    pub after: f32,
}

impl Personal {
    pub fn sidecar(&self) -> Result<Sidecar, PageError> {
        Ok(Sidecar::from_json(&self.sidecar_json)?)
    }

    /// Its sidecar, checked against the model it should run on (`base`, the shipped model
    /// `base_name`): an adapted model belongs to the model it was adapted from.
    pub fn check(&self, base: &Sidecar, base_name: &str) -> Result<Sidecar, PageError> {
        let sidecar = self.sidecar()?;
        let Some(personalised) = &sidecar.personalised else {
            return Err(PageError::Voice("these files hold a model that was not adapted to a voice".into()));
        };
        if personalised.from_sha256 != base.record_sha256 {
            let from = shipped::ALL
                .iter()
                .find(|m| Sidecar::from_json(m.sidecar).is_ok_and(|s| s.record_sha256 == personalised.from_sha256))
                .map_or_else(|| "a model this page does not ship".to_string(), |m| format!("the {} model", m.name));
            return Err(PageError::Voice(format!(
                "this adapted model was made from {from}, not the {base_name} model loaded now"
            )));
        }
        Ok(sidecar)
    }

    /// "adapted on 10 takes (angry 2, fear 2, ...)".
    pub fn describe(&self) -> String {
        match self.sidecar().ok().and_then(|s| s.personalised) {
            Some(p) => {
                let takes: Vec<String> = p.takes.iter().map(|(e, n)| format!("{e} {n}")).collect();
                format!("adapted on {} takes ({})", p.takes.values().sum::<usize>(), takes.join(", "))
            }
            None => "not adapted".into(),
        }
    }
}

#[cfg(feature = "engine")]
pub use adapting::adapt;

/// The engine's side (in its worker): adapting, and running an adapted model.
#[cfg(feature = "engine")]
mod adapting {
    use timnet::adapt::{Adapted, Settings, Take, adapt_from, personalised};
    use timnet::analysis::Analyzer;
    use timnet::audio::Prepared;
    use timnet::burn::prelude::Device;
    use timnet::features::Normalisation;
    use timnet::weights::{Precision, Weights};

    use super::{Outcome, Personal};
    use crate::engine::Engine;
    use crate::error::PageError;

    impl Personal {
        /// The adapted weights on `engine`'s device, checked against the model it runs.
        pub fn engine(&self, engine: &Engine) -> Result<Engine, PageError> {
            self.check(engine.sidecar(), engine.model.name)?;
            let weights = Weights::from_bytes(&self.sidecar_json, &self.record, engine.analyzer.device())?;
            Ok(engine.with_weights(weights))
        }
    }

    /// Adapt `engine`'s model to `takes` (each with its number) with the default settings; a
    /// per-speaker model first learns the voice from the takes' `recordings`, as `timnet adapt`
    /// does, and reads the takes again by it. The adapted copy is made on the CPU from the
    /// model's record (a GPU's weights cannot be read back synchronously), so it is the same
    /// copy whichever backend runs it.
    pub async fn adapt(engine: &Engine, takes: &[(u32, Take)], recordings: &[Prepared]) -> Result<Outcome, PageError> {
        let settings = Settings::default();
        let device = Device::flex();
        let base = Analyzer::new(Weights::from_bytes(engine.model.sidecar, &engine.record, &device)?, device);
        let as_it_was: Vec<Take> = takes.iter().map(|(_, t)| t.clone()).collect();
        let per_speaker = base.sidecar().normalisation == Normalisation::PerSpeaker;
        if per_speaker && recordings.len() != takes.len() {
            return Err(PageError::Voice("some takes' recordings are gone: record the takes again".into()));
        }
        let taught = if per_speaker { base.voiced(recordings)? } else { None };
        let (analyzer, takes) = match taught {
            Some(voiced) => {
                let analyzer = Analyzer::new(voiced, Device::flex());
                let mut again = Vec::with_capacity(as_it_was.len());
                for (recording, take) in recordings.iter().zip(&as_it_was) {
                    again.push(analyzer.take(recording, take.label).await?);
                }
                (analyzer, again)
            }
            None => (base, as_it_was.clone()),
        };
        let start = analyzer.head().await?;
        let Adapted { head, before, after, kept } = adapt_from(&start, &as_it_was, &takes, &settings);
        let personal = if kept {
            None
        } else {
            let (json, record) =
                personalised(analyzer.weights(), &head, &takes, &settings)?.to_bytes(Precision::Full)?;
            Some(Personal { sidecar_json: json.into(), record: record.into() })
        };
        Ok(Outcome { personal, before, after })
    }
}

/// The browser's storage of the adapted model: its two files, and whether it is switched on.
pub mod storage {
    use super::*;

    const SIDECAR: &str = "timnet.voice.model.json";
    const RECORD: &str = "timnet.voice.model.bpk";
    const ENABLED: &str = "timnet.voice.enabled";

    fn local() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn save(personal: &Personal) -> Result<(), PageError> {
        let store = local().ok_or_else(|| PageError::Voice("this browser keeps no local storage".into()))?;
        let record = base64::engine::general_purpose::STANDARD.encode(&personal.record);
        let full = |_| {
            PageError::Voice("the browser's storage is full; the adapted model lasts until the page is closed".into())
        };
        store.set_item(SIDECAR, &personal.sidecar_json).map_err(full)?;
        store.set_item(RECORD, &record).map_err(full)
    }

    pub fn load() -> Option<Personal> {
        let store = local()?;
        let sidecar_json = store.get_item(SIDECAR).ok()??;
        let record = base64::engine::general_purpose::STANDARD.decode(store.get_item(RECORD).ok()??).ok()?;
        Some(Personal { sidecar_json: sidecar_json.into(), record: record.into() })
    }

    pub fn enabled() -> bool {
        local().and_then(|s| s.get_item(ENABLED).ok().flatten()).is_none_or(|v| v != "off")
    }

    pub fn set_enabled(on: bool) {
        if let Some(store) = local() {
            let _ = store.set_item(ENABLED, if on { "on" } else { "off" });
        }
    }

    pub fn clear() {
        if let Some(store) = local() {
            for key in [SIDECAR, RECORD, ENABLED] {
                let _ = store.remove_item(key);
            }
        }
    }
}

/// The two files of an import, told apart by content: the sidecar is JSON text, the record
/// is not.
pub fn from_files(files: Vec<Vec<u8>>) -> Result<Personal, PageError> {
    let (mut sidecar, mut record) = (None, None);
    for bytes in files {
        match String::from_utf8(bytes) {
            Ok(text) if text.trim_start().starts_with('{') => sidecar = Some(text),
            Ok(text) => record = Some(text.into_bytes()),
            Err(e) => record = Some(e.into_bytes()),
        }
    }
    match (sidecar, record) {
        (Some(sidecar_json), Some(record)) => Ok(Personal { sidecar_json: sidecar_json.into(), record: record.into() }),
        _ => Err(PageError::Voice(
            "choose both files of an adapted model: model.json and model.bpk (as `timnet adapt` writes them)".into(),
        )),
    }
}
