// The interactive API page: Swagger UI on the app's own OpenAPI document (no CDN).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    // A signed-in browser calls the API with its session cookie; the header marks the call as the
    // page's own (cookie-authenticated writes without it are refused, so other sites cannot forge them).
    requestInterceptor: function (req) { req.headers["X-Requested-With"] = "huiqian"; return req; },
  });
});
