fn main() {
    timnet_app::mount();
}
