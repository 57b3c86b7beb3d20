"""The workbook's one style sheet, shown once per step (see docs/design.md, *Layout on
narrow pages*)."""

STYLE = """
<style>
.dl-step { font-size: 14px; max-width: 1180px; }
/* narrow pages (1024 px beside JupyterLab's sidebar): rows wrap, fields shrink to the
   step, buttons keep their whole text (tests/browser/test_layout.py) */
.dl-step .widget-hbox { flex-wrap: wrap; max-width: 100%; }
.dl-step .widget-inline-hbox { max-width: calc(100% - 4px); min-width: 0; }
.dl-step .widget-inline-hbox input, .dl-step .widget-inline-hbox select,
.dl-step .widget-inline-hbox textarea { min-width: 0; }
.dl-step .jupyter-button { flex-shrink: 0; min-width: max-content; }
.dl-step .dl-estimate-fields { flex-wrap: nowrap; flex: 0 1 auto; min-width: 0; }
.dl-step .widget-html { max-width: calc(100% - 4px); min-width: 0; }
.dl-step .widget-html-content { white-space: normal; overflow-x: auto; }
.dl-step .widget-html-content { line-height: 1.45; }
.dl-step .widget-html-content h4 { margin: 10px 0 4px 0; font-size: 15px; }
.dl-step .chart-alt { display: none; }
.dl-step figure.chart { margin: 6px 0; border: 1px solid #e3e3e3; border-radius: 6px;
  padding: 8px 12px; }
.dl-step .chart-title { font-weight: 600; }
.dl-step .chart-caption { color: #666; font-size: 12.5px; margin-bottom: 4px; }
.dl-step figure.chart svg { display: block; max-width: 100%; height: auto; }
.dl-step details summary { cursor: pointer; color: #345; }
.dl-step h3.dl-heading { margin: 4px 0 2px 0; font-size: 18px; }
.dl-step .dl-lead { color: #555; margin: 0 0 8px 0; }
.dl-field-error { color: #b3261e; font-size: 12.5px; line-height: 1.3; min-height: 0; }
.dl-field-error:empty { display: none; }
/* a field whose error line is not made yet: the room the empty line took (its margins) */
.dl-lined:not(:has(> .dl-field-error)) { padding-bottom: calc(2 * var(--jp-widgets-margin)); }
.dl-field-error .dl-read { color: #555; }
.dl-invalid input, .dl-invalid textarea, .dl-invalid select,
input.dl-invalid, textarea.dl-invalid {
  border-color: #b3261e !important; background: #fdecea !important; }
.dl-hint { color: #666; font-size: 12.5px; }
.dl-card { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; margin: 4px 0;
  background: #fcfcfc; }
.dl-questions { background: #f3f6fb; border-left: 3px solid #5477b3; padding: 6px 10px;
  font-size: 13px; color: #333; }
.dl-questions ul { margin: 4px 0 4px 18px; padding: 0; }
.dl-status { font-size: 12.5px; color: #2e7d32; }
.dl-status.dl-conflict { color: #b3261e; font-weight: 600; }
.dl-table { border-collapse: collapse; font-size: 13.5px; margin: 4px 0; }
.dl-table th, .dl-table td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px;
  text-align: right; }
.dl-table th:first-child, .dl-table td:first-child { text-align: left; }
.dl-table th { background: #f5f5f5; font-weight: 600; }
.dl-pass { color: #2e7d32; font-weight: 600; white-space: nowrap; }
.dl-fail { color: #b3261e; font-weight: 600; white-space: nowrap; }
.dl-warn { color: #a15c00; font-weight: 600; white-space: nowrap; }
.dl-badge { display: inline-block; border-radius: 9px; padding: 0 7px; font-size: 12px;
  color: white; }
.dl-badge-benefit { background: #2e7d32; }
.dl-badge-harm { background: #b3261e; }
.dl-muted { color: #888; }
/* the record's own partials, shown live in the steps (record/record_template/partials) */
.dl-step .wide { overflow-x: auto; max-width: 100%; }
.dl-step table.grid { border-collapse: collapse; font-size: 13.5px; margin: 4px 0 10px; }
.dl-step .grid th, .dl-step .grid td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px;
  text-align: left; vertical-align: top; }
.dl-step .grid thead th { background: #f5f5f5; font-weight: 600; }
.dl-step .grid caption { caption-side: bottom; text-align: left; color: #666;
  font-size: 12.5px; padding-top: 3px; }
.dl-step .grid td.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
.dl-step tr.chosen { background: #f3f6fb; }
.dl-step .badge, .dl-step .status { display: inline-block; border-radius: 9px;
  padding: 0 7px; font-size: 12px; background: #5477b3; color: white; }
.dl-step .status-pass { background: #2e7d32; }
.dl-step .status-fail { background: #b3261e; }
.dl-step .status-warn { background: #a15c00; }
.dl-step .status-overridden { background: white; color: #b3261e; border: 1px solid #b3261e; }
.dl-step .override { color: #b3261e; }
.dl-step .empty, .dl-step .small { color: #666; }
.dl-step .strong { font-weight: 600; }
</style>
"""
