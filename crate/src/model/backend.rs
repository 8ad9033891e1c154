//! Where the networks run: WebGPU (burn's wgpu backend) or the CPU (burn's flex backend),
//! chosen at run time.

use burn::tensor::{Device, Tensor};

/// A tensor's values, read back from wherever it lives (asynchronously: a GPU's memory is
/// read after its work is done); `what` names them in the error.
pub async fn read_floats<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>, String> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| format!("reading {what}: {e:?}"))?;
    Ok(data.iter::<f32>().collect())
}

/// Which kind of device runs the networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// burn's wgpu backend: WebGPU in a browser; Vulkan/Metal/DX12 natively.
    Gpu,
    /// burn's pure-Rust flex backend.
    Cpu,
}

/// A ready device and what we know about it.
#[derive(Clone, Debug)]
pub struct Backend {
    pub kind: BackendKind,
    pub device: Device,
    /// Human-readable adapter description, e.g. "SwiftShader Device (Subzero) (fallback)".
    pub adapter: String,
    /// The largest buffer one binding may hold; dense inference tiles to stay below it.
    pub max_buffer: u64,
}

/// The CPU's limit on one buffer: not a hardware limit, but it keeps dense inference's
/// memory bounded (a few hundred MB) however large the image.
pub const CPU_MAX_BUFFER: u64 = 256 << 20;

impl Backend {
    pub fn cpu() -> Backend {
        let threads = cpu_threads();
        Backend {
            kind: BackendKind::Cpu,
            device: Device::flex(),
            adapter: match threads {
                1 => "CPU (burn flex)".into(),
                n => format!("CPU (burn flex, {n} threads)"),
            },
            max_buffer: CPU_MAX_BUFFER,
        }
    }

    /// Without the `webgpu` feature (the page's CPU-only package) there is no GPU to get.
    #[cfg(not(feature = "webgpu"))]
    pub async fn gpu() -> Result<Backend, String> {
        Err("this build of cellseg has no WebGPU support (its CPU-only package)".into())
    }

    /// Acquires the GPU through wgpu: in a browser, WebGPU (asynchronous, as WebGPU is).
    #[cfg(feature = "webgpu")]
    pub async fn gpu() -> Result<Backend, String> {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup_async()
            .await
            .map_err(|e| format!("no usable WebGPU adapter: {e}"))?;
        let info = setup.adapter.get_info();
        let limits = setup.device.limits();
        let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
        let mut adapter = [
            info.name.as_str(),
            info.driver.as_str(),
            info.driver_info.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" · ");
        if adapter.is_empty() {
            adapter = format!("{:?} adapter", info.backend);
        }
        // Software adapters (SwiftShader, lavapipe) are correct but slower than the CPU backend.
        if software {
            adapter.push_str(" (software)");
        }
        Ok(Backend {
            kind: BackendKind::Gpu,
            device,
            adapter,
            max_buffer: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
        })
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            BackendKind::Gpu => "webgpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

/// Threads the CPU backend works on: rayon's pool natively and in the threaded wasm (whose
/// pool the page starts first), one in the plain wasm.
pub fn cpu_threads() -> usize {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    return rayon::current_num_threads();
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    1
}
