//! Gives the shared library its SONAME, so that programs linked against it
//! load the ABI they were built for: `liboffboard.so.<major>` from 1.0 on,
//! `liboffboard.so.0.<minor>` before (where a minor version may break the
//! ABI). scripts/install-c.sh installs the versioned file and its links.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let soname = if major == "0" {
        format!("liboffboard.so.0.{minor}")
    } else {
        format!("liboffboard.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    println!("cargo:rerun-if-changed=build.rs");
}
