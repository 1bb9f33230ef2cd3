//! Images: pulls with imagePullPolicy and imagePullSecrets, and importing
//! air-gapped archives. (Interface placeholder: the runtime work fills it in.)
