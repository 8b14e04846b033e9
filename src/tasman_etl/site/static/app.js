/* The job seeker's page (tasman-etl site): filters, list, map and card over data/jobs.js.
 *
 * Rules, the same as gold's (src/tasman_etl/db/migrations/003_gold.sql, 009_gold_bi.sql):
 * - open: the closing day (a date, Eastern) is today or later in New York (gold.is_open);
 * - distance: Haversine on a sphere of 3958.8 miles; a job is within R miles when any of
 *   its locations is (gold.jobs_near);
 * - keyword: websearch_to_tsquery('english', q) over title + summary: words ANDed, `or`,
 *   `-word`, stop words dropped, each word stemmed with the Snowball English stemmer
 *   (porter2) and matched against the job's lexemes; a "quoted phrase" needs its words, not
 *   their order. The founding keyword ("data engineering") is matched by the build, in the
 *   database: within 50 miles of Chicago, where the founding search looked, it matches the
 *   jobs USAJOBS returned for it (gold.vw_de_jobs_chicago); elsewhere, title + summary.
 * Data files are scripts (file:// pages cannot fetch JSON); words and details load later.
 */
(function () {
  "use strict";

  var D = window.TASMAN_JOBS;
  var T0 = performance.now();
  var JOBS = D.jobs, PLACES = D.places, AGENCIES = D.agencies, N = JOBS.length;
  // Columns of a job record (see tasman_etl.site.build._jobs_document).
  var CN = 0, TITLE = 1, AGENCY = 2, PMIN = 3, PMAX = 4, INTERVAL = 5, AMIN = 6, AMAX = 7,
      GRADE = 8, PUB = 9, CLOSE = 10, FLAGS = 11, APPLY = 12, PL = 13;
  var PAGE = 100;
  var R_MILES = 3958.8, RAD = Math.PI / 180;
  var STOP = ("i me my myself we our ours ourselves you your yours yourself yourselves he him " +
    "his himself she her hers herself it its itself they them their theirs themselves what " +
    "which who whom this that these those am is are was were be been being have has had " +
    "having do does did doing a an the and but if or because as until while of at by for " +
    "with about against between into through during before after above below to from up " +
    "down in out on off over under again further then once here there when where why how " +
    "all any both each few more most other some such no nor not only own same so than too " +
    "very s t can will just don should now").split(" ");
  var STOPS = Object.create(null);
  STOP.forEach(function (w) { STOPS[w] = true; });

  var $ = function (id) { return document.getElementById(id); };
  var timings = window.TASMAN_TIMINGS = { scriptStart: T0 };

  // ---------------------------------------------------------------- dates and numbers
  function todayInNewYork() {
    var parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit"
    }).formatToParts(new Date());
    var get = function (t) { return parts.filter(function (p) { return p.type === t; })[0].value; };
    return get("year") + "-" + get("month") + "-" + get("day");
  }
  function addDays(day, n) {
    var d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function daysBetween(a, b) {
    return Math.round((Date.parse(b + "T00:00:00Z") - Date.parse(a + "T00:00:00Z")) / 864e5);
  }
  var money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD",
    maximumFractionDigits: 2, minimumFractionDigits: 0 });
  function payText(job) {
    var lo = job[PMIN], hi = job[PMAX], label = job[INTERVAL];
    if (lo === null && hi === null) return "Not stated";
    var range = lo !== null && hi !== null && lo !== hi
      ? money.format(lo) + "–" + money.format(hi) : money.format(lo !== null ? lo : hi);
    return label ? range + " " + label : range;
  }
  function annualText(job) {
    var lo = job[AMIN], hi = job[AMAX];
    if (lo === null && hi === null) return "";
    return (lo !== null && hi !== null && lo !== hi
      ? money.format(Math.round(lo)) + "–" + money.format(Math.round(hi))
      : money.format(Math.round(lo !== null ? lo : hi))) + " a year";
  }

  // ---------------------------------------------------------------- places and distance
  var NP = PLACES.length;
  var pLat = new Float64Array(NP), pLon = new Float64Array(NP), pHas = new Uint8Array(NP);
  var placeByName = Object.create(null), placeNames = [];
  (function () {
    var uses = new Uint32Array(NP), i, k;
    for (i = 0; i < N; i++) for (k = 0; k < JOBS[i][PL].length; k++) uses[JOBS[i][PL][k]]++;
    for (i = 0; i < NP; i++) {
      var p = PLACES[i];
      if (p[1] !== null && p[2] !== null) { pHas[i] = 1; pLat[i] = p[1]; pLon[i] = p[2]; }
      var key = p[0].toLowerCase();
      if (!placeByName[key]) { placeByName[key] = { name: p[0], lat: 0, lon: 0, n: 0, jobs: 0 }; placeNames.push(key); }
      if (pHas[i]) { var e = placeByName[key]; e.lat += p[1]; e.lon += p[2]; e.n++; }
      placeByName[key].jobs += uses[i];
    }
  })();
  function haversine(lat1, lon1, lat2, lon2) {
    var s1 = Math.sin((lat2 - lat1) * RAD / 2), s2 = Math.sin((lon2 - lon1) * RAD / 2);
    var h = s1 * s1 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * s2 * s2;
    return 2 * R_MILES * Math.asin(Math.min(1, Math.sqrt(h)));
  }
  function resolvePlace(name) {
    // As `tasman-etl jobs --near`: a loaded location's name; several coordinates, their mean.
    var e = placeByName[String(name || "").trim().toLowerCase()];
    return e && e.n ? { name: e.name, lat: e.lat / e.n, lon: e.lon / e.n } : null;
  }

  // ---------------------------------------------------------------- keyword
  var WORDS = null, wordsLoading = null;
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src; s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }
  function loadWords() {
    if (!wordsLoading) {
      wordsLoading = loadScript("data/words.js").then(function () {
        WORDS = window.TASMAN_WORDS; timings.wordsLoaded = performance.now();
      });
    }
    return wordsLoading;
  }
  function stem(word) {
    // porter2 follows Snowball English before 2.2; PostgreSQL's newer Snowball keeps a double
    // consonant after one leading vowel when it drops -ed/-ing ("added" -> "add", not "ad").
    var s = window.porter2.stem(word);
    var m = /^([aeiou]([bdfgmnprt])\2)(?:ed|edly|ing|ingly)$/.exec(word);
    return m && s === m[1].slice(0, 2) ? m[1] : s;
  }
  function normalise(q) { return String(q || "").trim().toLowerCase().replace(/\s+/g, " "); }
  function parseQuery(q) {
    // websearch_to_tsquery: [[term, ...] OR [term, ...]], a term {stem, not}.
    var groups = [[]], tokens = String(q || "").toLowerCase().match(/-?"[^"]*"?|[^\s]+/g) || [];
    tokens.forEach(function (tok) {
      if (tok === "or") { if (groups[groups.length - 1].length) groups.push([]); return; }
      var neg = tok.charAt(0) === "-"; if (neg) tok = tok.slice(1);
      var words = tok.replace(/"/g, " ").split(/[^a-z0-9\u00c0-\u024f]+/);
      words.forEach(function (w) {
        if (!w || STOPS[w]) return;
        groups[groups.length - 1].push({ stem: /\d/.test(w) ? w : stem(w), not: neg });
      });
    });
    return groups.filter(function (g) { return g.length; });
  }
  function postings(stem) {
    var out = new Uint8Array(N), enc = WORDS[stem];
    if (!enc) return out;
    var parts = enc.split(","), at = 0;
    for (var i = 0; i < parts.length; i++) { at += parseInt(parts[i], 36); out[at] = 1; }
    return out;
  }
  function keywordMask(q) {
    // null: every job; else 1 for the jobs the keyword matches.
    var key = normalise(q);
    if (!key) return null;
    var mask = new Uint8Array(N), i;
    var searched = D.searched[key];
    if (searched) { for (i = 0; i < searched.length; i++) mask[searched[i]] = 1; return mask; }
    var groups = parseQuery(key);
    if (!groups.length) return null;
    groups.forEach(function (group) {
      var g = new Uint8Array(N).fill(1);
      group.forEach(function (term) {
        var p = postings(term.stem);
        for (var j = 0; j < N; j++) g[j] = term.not ? g[j] & (p[j] ^ 1) : g[j] & p[j];
      });
      for (var j = 0; j < N; j++) mask[j] |= g[j];
    });
    return mask;
  }

  // ---------------------------------------------------------------- state and URL
  var DEF = D.defaults;
  var FIELDS = ["q", "near", "lat", "lon", "r", "pay", "remote", "agency", "close"];
  function founding() {
    return { q: DEF.q, near: DEF.near, lat: DEF.lat, lon: DEF.lon, r: DEF.r,
      pay: "", remote: "", agency: "", close: "" };
  }
  function cleared() {
    return { q: "", near: "", lat: "", lon: "", r: DEF.r, pay: "", remote: "", agency: "", close: "" };
  }
  function readHash() {
    var h = location.hash.replace(/^#/, ""), state = founding(), job = null;
    if (!h) return { state: state, job: null };
    var params = new URLSearchParams(h), any = false;
    FIELDS.forEach(function (f) { if (params.has(f)) { state[f] = params.get(f); any = true; } });
    if (params.has("job")) job = params.get("job");
    if (any) {
      ["lat", "lon"].forEach(function (f) { state[f] = state[f] === "" ? "" : Number(state[f]); });
    }
    return { state: state, job: job };
  }
  function writeHash(state, job) {
    var params = new URLSearchParams();
    FIELDS.forEach(function (f) { params.set(f, state[f] === null || state[f] === undefined ? "" : String(state[f])); });
    if (job) params.set("job", job);
    var h = "#" + params.toString();
    if (location.hash !== h) history.replaceState(null, "", h);
  }

  // ---------------------------------------------------------------- filtering
  var TODAY = todayInNewYork();
  function filter(state) {
    var kw = keywordMask(state.q), i, k;
    var lat = state.lat === "" ? NaN : Number(state.lat), lon = state.lon === "" ? NaN : Number(state.lon);
    var r = Number(state.r), near = null;
    if (isFinite(lat) && isFinite(lon) && isFinite(r) && state.r !== "") {
      near = new Uint8Array(NP);
      for (i = 0; i < NP; i++) if (pHas[i] && haversine(lat, lon, pLat[i], pLon[i]) <= r) near[i] = 1;
    }
    var pay = state.pay === "" ? NaN : Number(state.pay);
    var flags = { remote: 1, telework: 2, either: 3 }[state.remote] || 0;
    var agency = state.agency;
    var lastClose = state.close === "" || !isFinite(Number(state.close)) ? null : addDays(TODAY, Number(state.close));
    var out = [];
    for (i = 0; i < N; i++) {
      var job = JOBS[i];
      if (job[CLOSE] && job[CLOSE] < TODAY) continue;
      if (kw && !kw[i]) continue;
      if (flags && !(job[FLAGS] & flags)) continue;
      if (agency && AGENCIES[job[AGENCY]][0] !== agency) continue;
      if (lastClose !== null && !(job[CLOSE] && job[CLOSE] <= lastClose)) continue;
      if (pay > 0) {
        var top = job[AMAX] !== null ? job[AMAX] : job[AMIN];
        if (top === null || top < pay) continue;
      }
      if (near) {
        var pl = job[PL], hit = false;
        for (k = 0; k < pl.length; k++) if (near[pl[k]]) { hit = true; break; }
        if (!hit) continue;
      }
      out.push(i);
    }
    return out;
  }

  // ---------------------------------------------------------------- map
  var map = L.map("map", { preferCanvas: true, worldCopyJump: true, minZoom: 2, maxZoom: 18 })
    .setView([39.5, -98.35], 4);
  if (D.tiles && D.tiles.url) {
    L.tileLayer(D.tiles.url, { attribution: D.tiles.attribution || "", maxZoom: 18 }).addTo(map);
  } else {
    map.getContainer().classList.add("no-tiles");
  }
  L.geoJSON(window.TASMAN_US_STATES, {
    interactive: false,
    style: { color: "#6b7785", weight: 1, fillColor: "#eef1f4", fillOpacity: 1 }
  }).addTo(map);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("States: U.S. Census Bureau via us-atlas");
  var mapDrawn = null;
  var cluster = L.markerClusterGroup({
    chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
    chunkProgress: function (done, total) { if (done === total && mapDrawn) { mapDrawn(); mapDrawn = null; } },
    iconCreateFunction: function (c) {
      var n = 0;
      c.getAllChildMarkers().forEach(function (m) { n += m.options.jobs; });
      var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
      return L.divIcon({ html: "<div><span>" + n + "</span></div>", className: "marker-cluster marker-cluster-" + size,
        iconSize: L.point(40, 40) });
    }
  });
  map.addLayer(cluster);
  var markers = new Array(NP), centre = null, circle = null;
  var dot = L.divIcon({ className: "job-dot", iconSize: [14, 14] });
  function markerFor(i) {
    if (!markers[i]) {
      markers[i] = L.marker([pLat[i], pLon[i]], { icon: dot, jobs: 0, keyboard: true, title: PLACES[i][0] });
      markers[i].placeIndex = i;
      markers[i].on("click", function () { openPlace(i); });
    }
    return markers[i];
  }
  var placeJobs = null;
  function drawMap(matched, state) {
    var counts = new Uint32Array(NP), i, k, list = [];
    placeJobs = Object.create(null);
    for (i = 0; i < matched.length; i++) {
      var pl = JOBS[matched[i]][PL];
      for (k = 0; k < pl.length; k++) counts[pl[k]]++;
    }
    for (i = 0; i < NP; i++) {
      if (counts[i] && pHas[i]) { var m = markerFor(i); m.options.jobs = counts[i]; list.push(m); }
    }
    cluster.clearLayers();
    // Markers are added in chunks (the page stays responsive); resolves when all are in.
    var drawn = new Promise(function (resolve) { mapDrawn = resolve; });
    if (list.length) cluster.addLayers(list); else { mapDrawn(); mapDrawn = null; }
    if (circle) { map.removeLayer(circle); map.removeLayer(centre); circle = centre = null; }
    var lat = Number(state.lat), lon = Number(state.lon);
    if (state.lat !== "" && state.lon !== "" && isFinite(lat) && isFinite(lon) && state.r !== "") {
      circle = L.circle([lat, lon], { radius: Number(state.r) * 1609.344, color: "#1a4480", weight: 2,
        fill: false, interactive: false }).addTo(map);
      centre = L.circleMarker([lat, lon], { radius: 5, color: "#1a4480", fillOpacity: 1,
        interactive: false }).addTo(map);
    }
    return drawn;
  }
  function fitMap(state) {
    // No animation: markers are clustered for the final zoom at once.
    var lat = Number(state.lat), lon = Number(state.lon), r = Number(state.r);
    if (state.lat !== "" && state.lon !== "" && state.r !== "" && isFinite(lat) && isFinite(lon) && r > 0) {
      map.fitBounds(L.latLng(lat, lon).toBounds(2 * r * 1609.344), { padding: [10, 10], animate: false });
    } else {
      map.fitBounds([[24.5, -125], [49.5, -66.5]], { animate: false });
    }
  }
  function openPlace(i) {
    var here = current.filter(function (j) { return JOBS[j][PL].indexOf(i) >= 0; });
    var box = document.createElement("div");
    var h = document.createElement("strong");
    h.textContent = PLACES[i][0] + ": " + here.length + (here.length === 1 ? " job" : " jobs");
    box.appendChild(h);
    var ul = document.createElement("ul"); ul.className = "popup-jobs";
    here.slice(0, 15).forEach(function (j) {
      var li = document.createElement("li"), b = document.createElement("button");
      b.type = "button"; b.className = "linkish"; b.textContent = JOBS[j][TITLE];
      b.addEventListener("click", function () { openCard(j); });
      li.appendChild(b); ul.appendChild(li);
    });
    box.appendChild(ul);
    if (here.length > 15) { var more = document.createElement("p"); more.textContent = "and " + (here.length - 15) + " more in the list"; box.appendChild(more); }
    L.popup({ maxWidth: 320 }).setLatLng([pLat[i], pLon[i]]).setContent(box).openOn(map);
  }
  map.on("click", function (e) {
    var s = readForm();
    s.near = "Map point " + e.latlng.lat.toFixed(4) + ", " + e.latlng.lng.toFixed(4);
    s.lat = Number(e.latlng.lat.toFixed(4)); s.lon = Number(e.latlng.lng.toFixed(4));
    if (s.r === "") s.r = DEF.r;
    apply(s, { fit: false });
  });

  // ---------------------------------------------------------------- list and card
  var current = [], shown = 0, lastState = null, openJob = null, opener = null;
  function placeSummary(job) {
    var pl = job[PL];
    if (!pl.length) return "Location not stated";
    var first = PLACES[pl[0]][0];
    return pl.length === 1 ? first : first + " and " + (pl.length - 1) + " more";
  }
  function item(i) {
    var job = JOBS[i], li = document.createElement("li"), b = document.createElement("button");
    b.type = "button"; b.className = "job"; b.dataset.index = String(i); b.dataset.cn = job[CN];
    var t = document.createElement("span"); t.className = "title"; t.textContent = job[TITLE];
    var a = document.createElement("span"); a.className = "meta"; a.textContent = AGENCIES[job[AGENCY]][0];
    var p = document.createElement("span"); p.className = "meta"; p.textContent = placeSummary(job);
    var m = document.createElement("span"); m.className = "meta pay";
    m.textContent = payText(job) + (job[CLOSE] ? " · closes " + job[CLOSE] : "");
    b.appendChild(t); b.appendChild(a); b.appendChild(p); b.appendChild(m);
    li.appendChild(b);
    return li;
  }
  function showMore() {
    var frag = document.createDocumentFragment(), end = Math.min(current.length, shown + PAGE);
    for (var k = shown; k < end; k++) frag.appendChild(item(current[k]));
    $("list").appendChild(frag);
    shown = end;
    $("more").hidden = shown >= current.length;
    $("more").textContent = "Show " + Math.min(PAGE, current.length - shown) + " more of " + (current.length - shown);
  }
  function drawList() {
    $("list").textContent = ""; shown = 0;
    $("count").textContent = current.length.toLocaleString("en-US");
    $("count").dataset.count = String(current.length);
    $("count-noun").textContent = current.length === 1 ? "job" : "jobs";
    showMore();
  }
  function details(i) {
    var shard = Math.floor(i / D.detailsPerFile);
    var have = window.TASMAN_DETAILS && window.TASMAN_DETAILS[shard];
    var name = ("000" + shard).slice(-4);
    return (have ? Promise.resolve() : loadScript("data/details/" + name + ".js")).then(function () {
      return window.TASMAN_DETAILS[shard][JOBS[i][CN]] || {};
    });
  }
  function openCard(i, quiet) {
    var job = JOBS[i], card = $("card");
    openJob = i;
    if (!quiet) opener = document.activeElement;
    $("card-title").textContent = job[TITLE];
    var ag = AGENCIES[job[AGENCY]];
    $("card-agency").textContent = ag[1] && ag[1] !== ag[0] ? ag[0] + ", " + ag[1] : ag[0];
    var annual = annualText(job);
    $("card-pay").textContent = payText(job) + (annual && job[INTERVAL] !== "Per Year" ? " (" + annual + ")" : "");
    $("card-grade").textContent = job[GRADE] || "Not stated";
    $("card-close-date").textContent = job[CLOSE]
      ? job[CLOSE] + " (" + (daysBetween(TODAY, job[CLOSE]) === 0 ? "today" : "in " + daysBetween(TODAY, job[CLOSE]) + " days") + ")"
      : "Not stated";
    $("card-published").textContent = job[PUB] || "Not stated";
    $("card-work").textContent = [job[FLAGS] & 1 ? "Remote" : "On site", job[FLAGS] & 2 ? "telework eligible" : "no telework"].join(", ");
    var locs = $("card-locations"); locs.textContent = "";
    var names = job[PL].map(function (p) { return PLACES[p][0]; });
    var ul = document.createElement("ul");
    names.slice(0, 12).forEach(function (n) { var li = document.createElement("li"); li.textContent = n; ul.appendChild(li); });
    locs.appendChild(ul);
    if (names.length > 12) {
      var more = document.createElement("details"), sum = document.createElement("summary");
      sum.textContent = (names.length - 12) + " more locations";
      more.appendChild(sum);
      var rest = document.createElement("p"); rest.textContent = names.slice(12).join("; ");
      more.appendChild(rest); locs.appendChild(more);
    }
    // Only an https link from the data; anything else (javascript:, data:) is never a href.
    var link = String(job[APPLY] || ""), apply = $("card-apply");
    apply.hidden = !/^https:\/\//i.test(link);
    if (apply.hidden) { apply.removeAttribute("href"); } else { apply.href = link; }
    $("card-series").textContent = "…"; $("card-summary").textContent = "Loading…";
    card.hidden = false;
    card.focus();
    writeHash(lastState, job[CN]);
    details(i).then(function (d) {
      if (openJob !== i) return;
      $("card-summary").textContent = d.summary || "No summary.";
      $("card-grade").textContent = (d.pay_plan ? d.pay_plan + " " : "") + (job[GRADE] || "");
      $("card-series").textContent = d.series ? d.series + (d.series_name ? " " + d.series_name : "") : "Not stated";
      card.dataset.loaded = job[CN];
    }, function () { $("card-summary").textContent = "The summary could not be loaded."; });
  }
  function closeCard() {
    $("card").hidden = true; openJob = null;
    writeHash(lastState, null);
    if (opener && document.body.contains(opener)) opener.focus();
  }

  // ---------------------------------------------------------------- form
  var form = $("filters");
  function fillForm(s) {
    $("f-q").value = s.q; $("f-near").value = s.near; $("f-r").value = s.r;
    $("f-pay").value = s.pay; $("f-remote").value = s.remote; $("f-agency").value = s.agency;
    $("f-close").value = s.close;
  }
  function readForm() {
    var s = { q: $("f-q").value, near: $("f-near").value.trim(), r: $("f-r").value,
      pay: $("f-pay").value, remote: $("f-remote").value, agency: $("f-agency").value,
      close: $("f-close").value, lat: "", lon: "" };
    if (lastState && s.near === lastState.near) { s.lat = lastState.lat; s.lon = lastState.lon; }
    else if (s.near) {
      var p = resolvePlace(s.near);
      if (p) { s.near = p.name; s.lat = p.lat; s.lon = p.lon; }
    }
    return s;
  }
  function complete(state) {
    // A place given by name only (a shared link, the API): its coordinates, as `--near`.
    var s = founding(), f;
    for (f in state) if (Object.prototype.hasOwnProperty.call(state, f)) s[f] = state[f];
    if ("near" in state && !("lat" in state && "lon" in state)) { s.lat = ""; s.lon = ""; }
    if (s.near && (s.lat === "" || s.lat === undefined || s.lon === "" || s.lon === undefined)) {
      var p = resolvePlace(s.near);
      s.lat = p ? p.lat : ""; s.lon = p ? p.lon : "";
      if (p) s.near = p.name;
    }
    if (!s.near) { s.lat = ""; s.lon = ""; }
    return s;
  }
  var queue = Promise.resolve();
  function apply(state, opts) {
    // One filter change at a time: the next starts when the map has drawn the last one.
    var run = function () { return applyNow(state, opts || {}); };
    queue = queue.then(run, run);
    return queue;
  }
  function applyNow(state, opts) {
    var t = performance.now();
    state = complete(state);
    var key = normalise(state.q);
    if (key && !D.searched[key] && !WORDS) {
      $("note").textContent = "Loading the word index…";
      return loadWords().then(function () { return applyNow(state, opts); });
    }
    lastState = state;
    current = filter(state);
    var note = "";
    if (state.near && (state.lat === "" || state.lon === "")) note = "No loaded job location is called “" + state.near + "”: pick one from the list, or click the map.";
    $("note").textContent = note;
    drawList();
    if (opts.fit !== false) fitMap(state);
    var drawn = drawMap(current, state);
    fillForm(state);
    writeHash(state, openJob !== null ? JOBS[openJob][CN] : null);
    var count = current.length;
    return drawn.then(function () {
      timings.lastFilterMs = performance.now() - t;
      document.body.dataset.ready = "1";
      return count;
    });
  }
  var pending = null;
  function onChange() {
    clearTimeout(pending);
    pending = setTimeout(function () { apply(readForm()); }, 150);
  }
  ["f-q", "f-r", "f-pay", "f-close"].forEach(function (id) { $(id).addEventListener("input", onChange); });
  ["f-near", "f-remote", "f-agency"].forEach(function (id) { $(id).addEventListener("change", onChange); });
  form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(pending); apply(readForm()); });
  $("b-founding").addEventListener("click", function () { apply(founding()); });
  $("b-all").addEventListener("click", function () { apply(cleared()); });
  $("more").addEventListener("click", showMore);
  $("list").addEventListener("click", function (e) {
    var b = e.target.closest("button.job");
    if (b) openCard(Number(b.dataset.index));
  });
  $("card-close").addEventListener("click", closeCard);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !$("card").hidden) closeCard();
  });
  window.addEventListener("hashchange", function () {
    var h = readHash(); apply(h.state);
  });

  // ---------------------------------------------------------------- start
  (function start() {
    var dl = $("places"), frag = document.createDocumentFragment();
    placeNames.filter(function (k) { return placeByName[k].n; })
      .sort(function (a, b) { return placeByName[b].jobs - placeByName[a].jobs || (a < b ? -1 : 1); })
      .slice(0, 2000)
      .forEach(function (k) { var o = document.createElement("option"); o.value = placeByName[k].name; frag.appendChild(o); });
    dl.appendChild(frag);
    var seen = Object.create(null), names = [];
    AGENCIES.forEach(function (a) { if (!seen[a[0]]) { seen[a[0]] = true; names.push(a[0]); } });
    names.sort();
    var sel = $("f-agency");
    names.forEach(function (n) { var o = document.createElement("option"); o.value = n; o.textContent = n; sel.appendChild(o); });
    $("built").textContent = D.builtAt.slice(0, 16).replace("T", " ") + " UTC";
    $("built").dateTime = D.builtAt;
    var h = readHash();
    timings.dataReady = performance.now();
    apply(h.state).then(function () {
      if (h.job) {
        for (var i = 0; i < N; i++) if (JOBS[i][CN] === h.job) { openCard(i, true); break; }
      }
      requestAnimationFrame(function () {
        timings.firstRender = performance.now();
        // The word index is needed only for other keywords: fetch it once the page is up.
        setTimeout(loadWords, 0);
      });
    });
  })();

  window.TasmanSite = {
    /** Apply filters (missing ones take the founding search's values); resolves to the count. */
    apply: function (state) { return apply(state); },
    count: function () { return current.length; },
    /** Control numbers of the jobs the filters match, in list order. */
    controlNumbers: function () { return current.map(function (i) { return JOBS[i][CN]; }); },
    words: loadWords,
    stem: stem,
    openCard: openCard
  };
})();
