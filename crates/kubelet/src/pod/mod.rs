//! Pod workers and pod status. (Interface placeholder: the pod lifecycle work fills it in.)
