//! End-to-end tests of the Auth API: a real server on a real port, on SQLite
//! and on Postgres, driven over HTTP. One binary, one module per operation.

mod helpers;

mod account;
mod api_keys;
mod audit;
mod binary;
mod bodies;
mod claim;
mod code;
mod config;
mod crash;
mod device;
mod disable;
mod email_links;
mod errors;
mod fleet;
mod identities;
mod inspect;
mod introspect;
mod limits;
mod links;
mod logout;
mod metrics;
mod network;
mod nginx;
mod openapi;
mod outage;
mod pages;
mod parsers;
mod passkeys;
mod redeem;
mod secrets;
mod sessions;
mod smtp;
mod transfer;
mod user;
mod verify;
