//! The page's built-in demo sets: what each shows, for which model, under which licence.

/// The page's built-in demo sets. Each is a folder of `demo/` (`index.csv`, `images/`,
/// `masks/`) and is made for the shipped model of the same name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DemoSet {
    /// 12 FLAIR slices of training patients of the LGG MRI segmentation data.
    #[default]
    Lgg,
    /// 12 breast ultrasound images (4 benign, 4 malignant, 4 normal) of BUSI's train clusters.
    Busi,
    /// 12 synthetic phantoms made by `camseg phantom`.
    Phantom,
}

impl DemoSet {
    pub const ALL: [DemoSet; 3] = [DemoSet::Lgg, DemoSet::Busi, DemoSet::Phantom];

    /// Its folder under `demo/`, and the shipped model it is made for.
    pub fn name(self) -> &'static str {
        match self {
            DemoSet::Lgg => "lgg",
            DemoSet::Busi => "busi",
            DemoSet::Phantom => "phantom",
        }
    }

    pub fn parse(name: &str) -> Option<DemoSet> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn label(self) -> &'static str {
        match self {
            DemoSet::Lgg => "LGG FLAIR slices",
            DemoSet::Busi => "BUSI breast ultrasound",
            DemoSet::Phantom => "synthetic phantoms",
        }
    }

    /// What the page says it shows.
    pub fn about(self) -> &'static str {
        match self {
            DemoSet::Lgg => "real brain MRI (FLAIR) slices with their tumour outlines, 8 with a tumour and 4 without, from 12 patients the LGG model was trained on: it has seen these slices",
            DemoSet::Busi => "real breast ultrasound images with their lesion outlines, 4 benign, 4 malignant and 4 normal, from 12 clusters the BUSI model was trained on: it has seen these images. Lesions here are dark, and many images carry the sonographer's calipers",
            DemoSet::Phantom => "synthetic brain-like phantoms with exact masks, made by camseg for the phantom model (the LGG model has never seen anything like them)",
        }
    }

    /// Licence and attribution shown beside the images (the full text is in the set's folder).
    pub fn attribution(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            DemoSet::Lgg => Some((
                "Images and masks: LGG MRI segmentation dataset (Buda et al. 2019; Kaggle mateuszbuda/lgg-mri-segmentation), from The Cancer Imaging Archive, TCGA-LGG collection. Licence CC BY-NC-SA 4.0.",
                &[
                    "Buda M, Saha A, Mazurowski MA. Association of genomic subtypes of lower-grade gliomas with shape features automatically extracted by a deep learning algorithm. Computers in Biology and Medicine 109 (2019) 218-225. doi:10.1016/j.compbiomed.2019.05.002",
                    "Mazurowski MA et al. Radiogenomics of lower-grade glioma. J Neuro-Oncology 133 (2017) 27-35. doi:10.1007/s11060-017-2420-1",
                    "Pedano N et al. Radiology data from The Cancer Genome Atlas Low Grade Glioma [TCGA-LGG] collection. The Cancer Imaging Archive (2016). doi:10.7937/K9/TCIA.2016.L4LTD3TK",
                ],
            )),
            DemoSet::Busi => Some((
                "Images and masks: Dataset of breast ultrasound images (BUSI; Al-Dhabyani et al. 2020), Baheya Hospital, Cairo. Licence CC BY 4.0.",
                &["Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound images. Data in Brief 28 (2020) 104863. doi:10.1016/j.dib.2019.104863"],
            )),
            DemoSet::Phantom => None,
        }
    }
}
