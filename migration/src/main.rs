//! `sea-orm-cli migrate …` runs this binary; so does `cargo run -p migration -- …`.
//! It reads `DATABASE_URL` (also from `.env`).

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
