use loss_core::loss;

loss! {
    #[reduce(avg)]
    pub fn f(#[grad] y: Class<C>, z: Tensor<C>) {
        z
    }
}

fn main() {}
