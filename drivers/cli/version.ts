import pkg from '../../package.json' with { type: 'json' };

/** dockvisor's version, as its package and `dockvisor --version` give it. */
export const DOCKVISOR_VERSION: string = pkg.version;
