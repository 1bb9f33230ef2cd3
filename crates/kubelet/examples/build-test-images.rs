//! Writes rkube's own images (pause and busybox test image) as OCI archives
//! into a directory: `build-test-images OUTDIR` (default: `$RKUBE_TEST_IMAGES`
//! or /var/lib/rkube-test-images). Used by scripts/build-test-images.

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(kubelet::images::builtin::test_images_dir);
    match kubelet::images::builtin::build_all(&dir) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
        }
        Err(e) => {
            eprintln!("build-test-images: {e}");
            std::process::exit(1);
        }
    }
}
