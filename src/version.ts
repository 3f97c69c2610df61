/** Reported by `cairn --version`, `/version` and `/v2/stats/self`. */
export const CAIRN_VERSION = '0.1.0';
