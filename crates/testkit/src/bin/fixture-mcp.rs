//! The test kit's MCP server: `fixture-mcp` serves over stdio; `fixture-mcp --http PORT`
//! serves streamable HTTP at `http://127.0.0.1:PORT/mcp`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--http") => {
            let port: u16 = args.get(1).map(|p| p.parse()).transpose()?.unwrap_or(0);
            let fixture = fustat_testkit::mcp_fixture::McpHttpFixture::start_on(port).await?;
            println!("{}", fixture.url());
            tokio::signal::ctrl_c().await?;
            Ok(())
        }
        _ => fustat_testkit::mcp_fixture::serve_stdio().await,
    }
}
