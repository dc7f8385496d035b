// Starts Swagger UI on the API's own OpenAPI document. A file, not an inline script, so the
// page passes the app's Content-Security-Policy (script-src 'self').
const openapi = document.querySelector('meta[name="openapi-url"]').content;
window.ui = SwaggerUIBundle({
  url: openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
