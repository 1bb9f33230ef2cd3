//! Runs the node's own containerd: writes its config under the agent's data
//! dir (runc, cgroupfs, CNI, restrict_oom_score_adj), starts it, waits for
//! CRI to answer, and restarts it if it dies.
//! (Interface placeholder: the runtime work fills it in.)
