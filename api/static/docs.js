/* The API's documentation (/docs): Swagger UI from the app's own copy (static/vendor/swagger-ui),
 * so that it works in a closed network; a file, not an inline script (CSP script-src 'self'). */
/* global SwaggerUIBundle */
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
