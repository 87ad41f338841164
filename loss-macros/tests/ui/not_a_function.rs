use loss_core::loss;

loss! {
    struct Logits;
}

fn main() {}
