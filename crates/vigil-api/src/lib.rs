//! vigil-api
