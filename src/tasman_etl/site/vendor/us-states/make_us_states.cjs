// Produces us-states.js from us-atlas@3.0.1 states-10m.json with topojson-client@3.1.0.
// Usage: node make_us_states.cjs US_ATLAS_DIR TOPOJSON_CLIENT_DIR OUT.js
const fs = require("fs");
const [atlasDir, clientDir, out] = process.argv.slice(2);
const topojson = require(require("path").resolve(clientDir) + "/dist/topojson-client.js");
const topo = JSON.parse(fs.readFileSync(atlasDir + "/states-10m.json", "utf8"));
const fc = topojson.feature(topo, topo.objects.states);
const round = (c) => Array.isArray(c[0]) ? c.map(round) : [Math.round(c[0] * 100) / 100, Math.round(c[1] * 100) / 100];
const dedupe = (ring) => ring.filter((p, i) => i === 0 || p[0] !== ring[i - 1][0] || p[1] !== ring[i - 1][1]);
for (const f of fc.features) {
  const g = f.geometry;
  const polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
  const kept = polys.map((poly) => poly.map((ring) => dedupe(round(ring))).filter((r) => r.length >= 4)).filter((p) => p.length);
  f.geometry = kept.length === 1 ? { type: "Polygon", coordinates: kept[0] } : { type: "MultiPolygon", coordinates: kept };
  f.properties = { name: f.properties.name };
  delete f.id;
}
const body = "// US states outline: us-atlas@3.0.1 states-10m.json (ISC; U.S. Census Bureau cartographic\n" +
  "// boundaries, 2017, public domain) converted with topojson-client@3.1.0 (ISC), coordinates\n" +
  "// rounded to 0.01 degree. See README.md in this folder.\n" +
  "window.TASMAN_US_STATES = " + JSON.stringify(fc) + ";\n";
fs.writeFileSync(out, body);
console.log(fc.features.length, body.length);
