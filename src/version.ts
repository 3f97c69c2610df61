/** Reported by `cairn --version`; the HTTP API reports the etcd API version it speaks instead. */
export const CAIRN_VERSION = '0.1.0';
