// Copies the pinned front-end dependencies from node_modules into static/vendor/ (committed, served by
// whitenoise; no CDN). Run by `make` after `npm ci` when package.json changes.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const assets = [["node_modules/htmx.org/dist/htmx.min.js", "static/vendor/htmx.min.js"]];

mkdirSync(join(root, "static/vendor"), { recursive: true });
for (const [from, to] of assets) {
  copyFileSync(join(root, from), join(root, to));
  console.log(`vendored ${to}`);
}
