/** The lab page's markup and style; src/browser/lab.ts fills it in. Nothing on it loads from elsewhere. */
export const LAB_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>formbench lab</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  .muted { color: #666; font-size: .9rem; }
  #progress { width: 100%; height: 1rem; }
  #status { margin: .4rem 0; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; font-size: .85rem; }
  td, th { border-bottom: 1px solid #ddd; padding: .15rem .4rem; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.running { background: #fff6d5; }
  tr.ok td.state { color: #1a7f37; } tr.failed td.state, tr.mismatch td.state { color: #b42318; }
  #chart { width: 100%; max-width: 44rem; height: auto; border: 1px solid #eee; }
  details { margin: .5rem 0; }
</style>
</head>
<body data-lab-state="starting">
<h1>formbench lab: <span id="study"></span></h1>
<div class="muted" id="description"></div>
<div class="muted" id="device"></div>
<div id="status">starting…</div>
<progress id="progress" value="0" max="1"></progress>
<div class="muted" id="eta"></div>
<h2 style="font-size:1.05rem">Latency vs depth</h2>
<svg id="chart" viewBox="0 0 640 320" role="img" aria-label="median latency against depth, one line per design pattern"></svg>
<details open><summary>Plan</summary><table id="plan"><thead><tr><th>#</th><th>model</th><th>batch</th><th>engine</th><th class="num">median ms</th><th class="num">runs</th><th>state</th></tr></thead><tbody></tbody></table></details>
<script type="module" src="/lab.js"></script>
</body>
</html>
`;
