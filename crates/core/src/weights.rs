//! Trained weights on disk and over the wire: burn's record (`model.bpk`) plus a JSON sidecar
//! (`model.json`) saying what the record is — network shape, labels, features, clip length and
//! how it was made — so that a mismatched or damaged file is refused with a reason.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::{Device, Tensor};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::features::{FrontEnd, MfccConfig, Normalisation};
use crate::model::{TimNet, TimNetConfig};

pub const RECORD_FILE: &str = "model.bpk";
pub const SIDECAR_FILE: &str = "model.json";

/// The weights the page and `timnet` ship with, compiled in so that neither needs a file
/// beside it at run time.
pub mod shipped {
    /// One shipped model.
    pub struct Shipped {
        /// Its short name (`--model NAME`, the page's picker).
        pub name: &'static str,
        /// Its folder in the repository.
        pub dir: &'static str,
        /// What it was trained on, in a few words.
        pub summary: &'static str,
        pub sidecar: &'static str,
        /// Whether its record is compiled in ([`record`]); where it is not, only the sidecar is
        /// (the page embeds the default alone to stay small and fetches the others from its own
        /// origin, checked against the sidecar's SHA-256).
        pub embedded: bool,
    }

    /// A shipped model's record, where it is compiled in. Apart from the list, so that a
    /// program that only lists the models (the page, beside its engine worker) carries no
    /// record's bytes.
    pub fn record(model: &Shipped) -> Option<&'static [u8]> {
        match model.name {
            "mix" => Some(include_bytes!("../../../model-weights/mix/model.bpk")),
            #[cfg(feature = "all-models")]
            "mix-voice" => Some(include_bytes!("../../../model-weights/mix-voice/model.bpk")),
            #[cfg(feature = "all-models")]
            "emodb" => Some(include_bytes!("../../../model-weights/emodb/model.bpk")),
            _ => None,
        }
    }

    /// The file a shipped record is served as, beside the page: `models/NAME/model.bpk`.
    pub fn served_record_path(model: &Shipped) -> String {
        format!("models/{}/{}", model.name, super::RECORD_FILE)
    }

    /// The paper's model: EmoDB, seven acted German emotions.
    pub const EMODB: Shipped = Shipped {
        name: "emodb",
        dir: "model-weights/emodb",
        summary: "EmoDB (10 German actors, 7 emotions): the paper's model",
        sidecar: include_str!("../../../model-weights/emodb/model.json"),
        embedded: cfg!(feature = "all-models"),
    };

    /// The default: six corpora in five languages, five emotions, for voices it has not heard.
    pub const MIX: Shipped = Shipped {
        name: "mix",
        dir: "model-weights/mix",
        summary: "six corpora, five languages (German, Mandarin, English, Polish, Amharic), 5 emotions",
        sidecar: include_str!("../../../model-weights/mix/model.json"),
        embedded: true,
    };

    /// The same six corpora with each speaker heard beside their own other recordings
    /// (per-speaker normalisation): the better model once taught a voice, the worse before.
    pub const MIX_VOICE: Shipped = Shipped {
        name: "mix-voice",
        dir: "model-weights/mix-voice",
        summary: "the same six corpora, for a voice taught first: two takes of each emotion",
        sidecar: include_str!("../../../model-weights/mix-voice/model.json"),
        embedded: cfg!(feature = "all-models"),
    };

    /// Every shipped model, the default first.
    pub const ALL: &[Shipped] = &[MIX, MIX_VOICE, EMODB];

    /// The model used when none is named.
    pub const DEFAULT: &Shipped = &ALL[0];

    /// The shipped model called `name`.
    pub fn named(name: &str) -> Option<&'static Shipped> {
        ALL.iter().find(|m| m.name == name)
    }
}

const FORMAT: &str = "timnet-weights/2";
/// The first format, whose checksum was FNV-1a rather than SHA-256.
const FORMAT_1: &str = "timnet-weights/1";

#[derive(Debug, Error)]
pub enum WeightsError {
    #[error("the sidecar is not valid: {0}")]
    Sidecar(String),
    #[error("the sidecar describes an impossible network: {0}")]
    Config(String),
    #[error("the sidecar lists {labels} labels for a {classes}-class network")]
    Labels { labels: usize, classes: usize },
    #[error("the weights file is damaged or truncated (SHA-256 {found}, the sidecar expects {expected})")]
    Checksum { found: String, expected: String },
    #[error("the weights file cannot be read: {0}")]
    Record(String),
    #[error("the weights do not fit the network the sidecar describes: {0}")]
    Mismatch(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("the {0} model's weights are not built into this program (load its files from {1})")]
    NotEmbedded(&'static str, &'static str),
}

/// How a record stores its numbers. Half precision halves the file (the page ships it, since
/// f32 weights hardly compress); loading casts either kind back to f32, the network's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Full,
    Half,
}

/// Where a set of weights came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    pub corpus: String,
    /// The command that produced them, verbatim.
    pub command: String,
    pub epochs: usize,
    /// Short trial weights, not the ones the report's figures belong to.
    pub interim: bool,
    pub notes: String,
}

/// A prediction recorded when the weights were made: a later load of the same weights on the
/// same file must give the same probabilities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedPrediction {
    /// The corpus it comes from (empty in sidecars of one corpus written before mixes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub corpus: String,
    /// The file's path inside the corpus directory.
    pub file: String,
    pub label: String,
    pub probabilities: Vec<f32>,
}

/// The longest clip a sidecar may ask for: a minute at the feature rate.
pub const MAX_CLIP_SAMPLES: usize = 60 * crate::audio::MODEL_RATE as usize;
/// The clip lengths a sidecar may ask for: half a second to a minute. Windows overlap by half a
/// clip, so a shorter clip means more windows a second: two samples would be 22,050 of them.
pub const CLIP_SAMPLES: std::ops::RangeInclusive<usize> = (crate::audio::MODEL_RATE as usize / 2)..=MAX_CLIP_SAMPLES;

/// Everything needed to use a record: the sidecar file's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    pub format: String,
    pub model: TimNetConfig,
    /// Class names in output order.
    pub labels: Vec<String>,
    pub features: MfccConfig,
    /// What follows the MFCC: nothing, or per-utterance normalisation.
    #[serde(default)]
    pub normalisation: Normalisation,
    /// Samples at the feature rate that every clip is padded or cropped to.
    pub clip_samples: usize,
    pub provenance: Provenance,
    /// SHA-256 of the record's bytes, in hex.
    pub record_sha256: String,
    /// A few of the training corpus's utterances and what the model said of them.
    #[serde(default)]
    pub recorded: Vec<RecordedPrediction>,
    /// Set when the model was adapted to one person's voice (`timnet adapt`, the page's "Teach
    /// it your voice").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalised: Option<crate::adapt::Personalisation>,
    /// A per-speaker model's statistics of the one voice it was taught, from that person's
    /// takes ([`crate::analysis::Analyzer::voiced`]): every recording is normalised by them
    /// rather than on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<crate::features::Standardiser>,
}

impl Sidecar {
    pub fn new(model: TimNetConfig, labels: Vec<String>, clip_samples: usize, provenance: Provenance) -> Self {
        Self {
            format: FORMAT.into(),
            model,
            labels,
            features: MfccConfig::default(),
            normalisation: Normalisation::None,
            clip_samples,
            provenance,
            record_sha256: String::new(),
            recorded: Vec::new(),
            personalised: None,
            voice: None,
        }
    }

    pub fn from_json(json: &str) -> Result<Self, WeightsError> {
        // The format first: a sidecar of another format may lack this one's fields.
        #[derive(Deserialize)]
        struct Format {
            format: String,
        }
        let format: Format = serde_json::from_str(json).map_err(|e| WeightsError::Sidecar(e.to_string()))?;
        if format.format == FORMAT_1 {
            return Err(WeightsError::Sidecar(format!(
                "format {FORMAT_1:?}, from an earlier version of this program; load it with that version and export it again"
            )));
        }
        let sidecar: Sidecar = serde_json::from_str(json).map_err(|e| WeightsError::Sidecar(e.to_string()))?;
        if sidecar.format != FORMAT {
            return Err(WeightsError::Sidecar(format!("format {:?}, expected {FORMAT:?}", sidecar.format)));
        }
        sidecar.model.validate().map_err(WeightsError::Config)?;
        if sidecar.labels.len() != sidecar.model.classes {
            return Err(WeightsError::Labels { labels: sidecar.labels.len(), classes: sidecar.model.classes });
        }
        sidecar.features.validate().map_err(WeightsError::Config)?;
        if sidecar.features.n_mfcc != sidecar.model.features {
            return Err(WeightsError::Config(format!(
                "{} MFCCs per frame feed a network built for {}",
                sidecar.features.n_mfcc, sidecar.model.features
            )));
        }
        if !CLIP_SAMPLES.contains(&sidecar.clip_samples) {
            return Err(WeightsError::Config(format!(
                "a clip of {} samples; {} (half a second) to {} (a minute)",
                sidecar.clip_samples,
                CLIP_SAMPLES.start(),
                CLIP_SAMPLES.end()
            )));
        }
        if let Some(voice) = &sidecar.voice {
            if sidecar.normalisation != Normalisation::PerSpeaker {
                return Err(WeightsError::Config(format!(
                    "a voice's statistics for a model normalised {:?}, not per speaker",
                    sidecar.normalisation
                )));
            }
            voice.check(sidecar.features.n_mfcc).map_err(|e| WeightsError::Config(format!("the voice: {e}")))?;
        }
        Ok(sidecar)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a sidecar always serialises")
    }

    /// The front end this model was trained with, planned for use.
    pub fn front_end(&self) -> FrontEnd {
        FrontEnd::new(self.features.clone(), self.clip_samples, self.normalisation).with_voice(self.voice.clone())
    }

    /// MFCC frames per clip.
    pub fn clip_frames(&self) -> usize {
        self.features.frames_for(self.clip_samples)
    }
}

/// A model with the sidecar that describes it.
#[derive(Debug, Clone)]
pub struct Weights {
    pub model: TimNet,
    pub sidecar: Sidecar,
}

impl Weights {
    /// The default shipped weights (see [`shipped`]).
    pub fn shipped(device: &Device) -> Result<Self, WeightsError> {
        Self::from_shipped(shipped::DEFAULT, device)
    }

    /// One of the shipped models.
    pub fn from_shipped(model: &shipped::Shipped, device: &Device) -> Result<Self, WeightsError> {
        let record = shipped::record(model).ok_or(WeightsError::NotEmbedded(model.name, model.dir))?;
        Self::from_bytes(model.sidecar, record, device)
    }

    /// Load from the sidecar's text and the record's bytes (no filesystem: works in the browser).
    pub fn from_bytes(sidecar_json: &str, record: &[u8], device: &Device) -> Result<Self, WeightsError> {
        let sidecar = Sidecar::from_json(sidecar_json)?;
        let found = sha256_hex(record);
        if found != sidecar.record_sha256 {
            return Err(WeightsError::Checksum { found, expected: sidecar.record_sha256 });
        }
        // Refused before the network is built: a sidecar whose network the record cannot hold
        // would otherwise allocate that network first. Two bytes a number: half precision.
        let parameters = sidecar.model.trainable_parameters();
        if parameters * 2 > record.len() {
            return Err(WeightsError::Mismatch(format!(
                "the sidecar's network has {parameters} parameters; the record holds {} bytes",
                record.len()
            )));
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(record.to_vec()))
            .map_err(|e| WeightsError::Record(e.to_string()))?
            .cast_to_module_dtype();
        let model =
            sidecar.model.init(device).try_load_record(record).map_err(|e| WeightsError::Mismatch(e.to_string()))?;
        Ok(Self { model, sidecar })
    }

    /// The record's bytes and the sidecar's text, checksum filled in.
    pub fn to_bytes(&self, precision: Precision) -> Result<(String, Vec<u8>), WeightsError> {
        let model = match precision {
            Precision::Full => self.model.clone(),
            // Cast a copy rebuilt from the record, not a clone: a clone shares BatchNorm's
            // running statistics with this model (burn keeps them behind one lock), and they
            // would be cast here too.
            Precision::Half => self
                .sidecar
                .model
                .init(&Device::flex())
                .try_load_record(self.model.clone().into_record())
                .map_err(|e| WeightsError::Mismatch(e.to_string()))?
                .map(&mut CastFloats(DType::F16)),
        };
        let bytes = model.into_record().into_bytes().map_err(|e| WeightsError::Record(e.to_string()))?;
        let bytes = bytes.to_vec();
        let mut sidecar = self.sidecar.clone();
        sidecar.record_sha256 = sha256_hex(&bytes);
        Ok((sidecar.to_json(), bytes))
    }

    /// The checksum the sidecar records for a record's bytes: SHA-256 in hex.
    pub fn checksum(record: &[u8]) -> String {
        sha256_hex(record)
    }

    /// Write `model.bpk` and `model.json` into `dir`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save(&self, dir: &std::path::Path, precision: Precision) -> Result<(), WeightsError> {
        let io = |path: &std::path::Path, e: std::io::Error| WeightsError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let (json, bytes) = self.to_bytes(precision)?;
        let record = dir.join(RECORD_FILE);
        std::fs::write(&record, bytes).map_err(|e| io(&record, e))?;
        let sidecar = dir.join(SIDECAR_FILE);
        std::fs::write(&sidecar, json).map_err(|e| io(&sidecar, e))?;
        Ok(())
    }

    /// Read `model.bpk` and `model.json` from `dir`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(dir: &std::path::Path, device: &Device) -> Result<Self, WeightsError> {
        let read = |name: &str| {
            let path = dir.join(name);
            crate::files::read_regular(&path, crate::files::MAX_WEIGHTS_BYTES)
                .map_err(|e| WeightsError::Io { path: path.display().to_string(), message: e.to_string() })
        };
        let json = read(SIDECAR_FILE)?;
        let json = String::from_utf8(json).map_err(|_| WeightsError::Sidecar("not UTF-8 text".into()))?;
        Self::from_bytes(&json, &read(RECORD_FILE)?, device)
    }
}

/// Casts every float parameter, BatchNorm's running statistics included, to one dtype.
struct CastFloats(DType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| tensor.cast(self.0))
    }
}

/// SHA-256 in lowercase hex: tells a damaged or swapped record from the one the sidecar names.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
