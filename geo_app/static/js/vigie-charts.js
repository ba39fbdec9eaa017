/* Charts of a hotspot page (Chart.js, served by Vigie): monthly counts and hour x weekday.
   Every word comes from the page's chart data (``words``: the server's catalogue). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var words = data.words || {};
  var days = words.weekdays || ["1", "2", "3", "4", "5", "6", "7"];
  var colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
  window.VigieCharts = {};
  var m = document.getElementById("chart-monthly");
  if (m && data.monthly) {
    window.VigieCharts.monthly = new Chart(m, {
      type: "bar",
      data: {labels: data.monthly.labels, datasets: [{label: words.incidents || "", data: data.monthly.values, backgroundColor: "#c51b7d"}]},
      options: {animation: false, maintainAspectRatio: false, plugins: {legend: {display: false}}}
    });
  }
  var p = document.getElementById("chart-profile");
  if (p && data.profile) {
    window.VigieCharts.profile = new Chart(p, {
      type: "line",
      data: {labels: data.profile.hours.map(function (h) { return h + "h"; }),
             datasets: data.profile.rows.map(function (row, i) {
               return {label: days[i], data: row, borderColor: colors[i], backgroundColor: colors[i], pointRadius: 0, tension: 0.3};
             })},
      options: {animation: false, maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}}
    });
  }
})();
