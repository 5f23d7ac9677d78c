//! A JSON API: JSON in, JSON out, and errors that are JSON too, with the right status.
//!
//! Try it:
//! `cargo run --example json_api` answers a GET with usage; a real POST needs a server
//! (or the test kit: see `tests/in_process.rs`), for example through `curl`:
//! `curl -d '{"celsius": 21.5}' -H 'Content-Type: application/json' http://localhost/cgi-bin/json_api`
//! → `{"fahrenheit":70.7}`; `{"celsius": -300}` → 422 `{"error":"...","status":422}`.

use cgi::{IntoResponse, Json, JsonRejection, Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Celsius {
    celsius: f64,
}

#[derive(Serialize)]
struct Fahrenheit {
    fahrenheit: f64,
}

/// Everything that can go wrong, each with its status; written as JSON.
enum ApiError {
    /// Only POST converts; GET explains how.
    WrongMethod,
    /// The body was not the JSON we need: the rejection says why (415, 400 or 422).
    BadInput(JsonRejection),
    /// Colder than absolute zero.
    BelowAbsoluteZero(f64),
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
    status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            ApiError::WrongMethod => (
                StatusCode::METHOD_NOT_ALLOWED,
                r#"POST {"celsius": <number>} as application/json"#.to_owned(),
            ),
            ApiError::BadInput(rejection) => (rejection.status(), rejection.to_string()),
            ApiError::BelowAbsoluteZero(celsius) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{celsius} °C is below absolute zero"),
            ),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error,
                status: status.as_u16(),
            }),
        )
            .into_response();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert("allow", cgi::http::HeaderValue::from_static("POST"));
        }
        response
    }
}

#[cgi::main(max_body = 4096)]
fn json_api(
    method: Method,
    input: Result<Json<Celsius>, JsonRejection>,
) -> Result<Json<Fahrenheit>, ApiError> {
    if method != Method::POST {
        return Err(ApiError::WrongMethod);
    }
    let Json(Celsius { celsius }) = input.map_err(ApiError::BadInput)?;
    if celsius < -273.15 {
        return Err(ApiError::BelowAbsoluteZero(celsius));
    }
    let fahrenheit = (celsius * 9.0 / 5.0 + 32.0) * 10.0;
    Ok(Json(Fahrenheit {
        fahrenheit: fahrenheit.round() / 10.0,
    }))
}
