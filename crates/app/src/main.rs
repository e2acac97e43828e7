// The page: it draws, and leaves the work to the engine worker (src/bin/worker.rs).

fn main() {
    timnet_app::run_constructors_once();
    timnet_app::mount();
}
