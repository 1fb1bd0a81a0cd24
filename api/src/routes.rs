//! The one route table: every scene registers its routes here, under `/api/v1`, and the table is
//! recorded so that a test can compare it with `openapi.yaml`.

use actix_web::http::Method;
use actix_web::{Handler, FromRequest, Responder, web};

use crate::config::Environment;

/// Registers routes on an actix `ServiceConfig` and records (method, full path) of each.
pub struct Routes<'a> {
    config: &'a mut web::ServiceConfig,
    prefix: &'static str,
    table: &'a mut Vec<(Method, String)>,
    pub environment: Environment,
}

impl Routes<'_> {
    pub fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.push((method.clone(), format!("{}{}", self.prefix, path)));
        self.config.route(path, web::method(method).to(handler));
        self
    }

    pub fn get<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, handler)
    }

    pub fn post<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, handler)
    }
}

/// The API under `/api/v1`, one line per scene.
fn api_v1(routes: &mut Routes<'_>) {
    crate::auth::routes(routes);
    crate::me::routes(routes);
    crate::community::routes(routes);
}

/// Operations endpoints, outside the versioned API.
fn operations(routes: &mut Routes<'_>) {
    crate::ops::routes(routes);
}

/// Configures the whole app and returns the table of what it registered.
pub fn configure(config: &mut web::ServiceConfig, environment: Environment) -> Vec<(Method, String)> {
    let mut table = Vec::new();
    config.configure(|config| {
        operations(&mut Routes { config, prefix: "", table: &mut table, environment });
    });
    let mut api_table = Vec::new();
    config.service(web::scope("/api/v1").configure(|config| {
        api_v1(&mut Routes { config, prefix: "/api/v1", table: &mut api_table, environment });
    }));
    table.extend(api_table);
    table
}

/// Every (method, path) the app serves in this environment, paths in OpenAPI form (`/x/{id}`).
pub fn route_table(environment: Environment) -> Vec<(String, String)> {
    let mut table = Vec::new();
    let _app = actix_web::App::new().configure(|config| table = configure(config, environment));
    table.into_iter().map(|(method, path)| (method.as_str().to_owned(), path)).collect()
}
