// The engine worker: decoding, features and the model, in a Web Worker that the page starts
// (trunk builds it beside the page: www/index.html).

fn main() {
    timnet_app::run_constructors_once();
    timnet_app::worker::run();
}
