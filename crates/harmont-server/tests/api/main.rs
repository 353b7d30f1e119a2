//! End-to-end tests of the Auth API: a real server on a real port, on SQLite
//! and on Postgres, driven over HTTP. One binary, one module per operation.

mod helpers;

mod account;
mod api_keys;
mod binary;
mod bodies;
mod claim;
mod code;
mod crash;
mod device;
mod errors;
mod fleet;
mod inspect;
mod limits;
mod links;
mod logout;
mod network;
mod openapi;
mod outage;
mod pages;
mod parsers;
mod passkeys;
mod redeem;
mod secrets;
mod sessions;
mod transfer;
mod user;
