/**
 * Where the console's static files are: `assets/` beside this module. A `.cts` file compiles to CommonJS in
 * both builds, so `__dirname` is there whether the importer is the ES module or the CommonJS build.
 */
import path = require('node:path');

export const CONSOLE_ASSET_DIR: string = path.join(__dirname, 'assets');
