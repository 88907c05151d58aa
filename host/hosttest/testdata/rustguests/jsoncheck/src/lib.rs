//! jsoncheck exposes the SDK's JSON helpers for comparison with Go: the
//! event's type picks the helper, its data is the input, the result is the
//! output.

use wasmfaas::json::{self, Value, Writer};
use wasmfaas::{Context, Error, Event};

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let data = ev.data();
    let out: Vec<u8> = match ev.ty().as_str() {
        // A number, written as encoding/json writes a float64.
        "number" => {
            let v = json::parse(&data).ok().and_then(|v| v.as_f64()).ok_or_else(|| Error::msg("not a number"))?;
            let mut w = Writer::new();
            w.f64(v);
            w.finish()?.into_bytes()
        }
        // A number, formatted as Go's %g.
        "g" => {
            let v = json::parse(&data).ok().and_then(|v| v.as_f64()).ok_or_else(|| Error::msg("not a number"))?;
            json::format_g(v).into_bytes()
        }
        // Bytes, quoted as encoding/json quotes a Go string.
        "quote" => {
            let mut w = Writer::new();
            w.bytes_string(&data);
            w.finish()?.into_bytes()
        }
        // A JSON string, decoded.
        "string" => match json::parse(&data) {
            Ok(Value::String(s)) => s.into_bytes(),
            _ => return Err(Error::msg("not a JSON string")),
        },
        // Any JSON text: its type, or "invalid".
        "type" => json::parse(&data).map(|v| v.type_name()).unwrap_or("invalid").as_bytes().to_vec(),
        // Event data decoded into a record: the rejection message, or the
        // record re-encoded.
        "decode" => match ev.decode_json::<Located>() {
            Ok(l) => json::to_string(&l)?.into_bytes(),
            Err(e) => format!("{}: {}", e.kind, e.message).into_bytes(),
        },
        t => return Err(Error::msg(format!("unknown helper {:?}", t))),
    };
    ctx.result("application/octet-stream", &out)
}

/// Located is the Go SDK's decode test record: a required device, an
/// optional location whose lat and lon are required, and samples whose v is
/// required.
struct Located {
    device: String,
    location: Option<(f64, f64)>,
    samples: Vec<Option<f64>>,
}

impl json::FromJson for Located {
    fn from_json(v: &Value) -> Result<Self, json::DecodeError> {
        let o = v.object()?;
        let device = o.required("device")?;
        let location = match o.optional::<Value>("location")? {
            None => None,
            Some(l) => {
                let lo = l.object().map_err(|e| e.within_field("location"))?;
                let lat = lo.required("lat").map_err(|e| e.within_field("location"))?;
                let lon = lo.required("lon").map_err(|e| e.within_field("location"))?;
                Some((lat, lon))
            }
        };
        let samples = o.optional::<Vec<Sample>>("samples")?.unwrap_or_default().into_iter().map(|s| s.v).collect();
        Ok(Located { device, location, samples })
    }
}

struct Sample {
    v: Option<f64>,
}

impl json::FromJson for Sample {
    fn from_json(v: &Value) -> Result<Self, json::DecodeError> {
        Ok(Sample { v: Some(v.object()?.required("v")?) })
    }
}

impl json::ToJson for Located {
    fn write_json(&self, w: &mut Writer) {
        let mut o = json::object().field("device", &self.device);
        if let Some((lat, lon)) = self.location {
            o = o.field("location", json::object().field("lat", lat).field("lon", lon));
        }
        w.value(&o.field("samples", &self.samples));
    }
}

wasmfaas::handler!(handle);
