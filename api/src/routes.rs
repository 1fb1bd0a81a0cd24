//! The one route table: every scene registers its routes here, under `/api/v1`, and the table is
//! recorded so that a test can compare it with `openapi.yaml`.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, web};

use crate::platform::config::Environment;

/// Collects routes, one actix resource per path (so a wrong method on a known path is 405, not 404),
/// and records (method, full path) of each.
pub struct Routes<'a> {
    resources: Vec<(&'static str, actix_web::Resource)>,
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
        let index = match self.resources.iter().position(|(known, _)| *known == path) {
            Some(index) => index,
            None => {
                self.resources.push((path, web::resource(path)));
                self.resources.len() - 1
            }
        };
        let resource = std::mem::replace(&mut self.resources[index].1, web::resource(path));
        self.resources[index].1 = resource.route(web::method(method).to(handler));
        self
    }

    /// The resources, each answering a method it does not serve with 405 and an `Allow` header that
    /// lists the methods it does (RFC 9110 §15.5.6).
    fn into_resources(self) -> Vec<actix_web::Resource> {
        let table = &*self.table;
        let prefix = self.prefix;
        self.resources
            .into_iter()
            .map(|(path, resource)| {
                let full = format!("{prefix}{path}");
                let mut methods: Vec<&str> =
                    table.iter().filter(|(_, known)| *known == full).map(|(method, _)| method.as_str()).collect();
                methods.dedup();
                let allow = methods.join(", ");
                resource.default_service(web::to(move || {
                    let allow = allow.clone();
                    async move {
                        actix_web::HttpResponse::MethodNotAllowed()
                            .insert_header((actix_web::http::header::ALLOW, allow))
                            .finish()
                    }
                }))
            })
            .collect()
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
    crate::identity::auth::routes(routes);
    crate::identity::me::routes(routes);
    crate::scenes::community::routes(routes);
    crate::scenes::requests::routes(routes);
    crate::scenes::activities::routes(routes);
    crate::scenes::notifications::routes(routes);
    crate::scenes::polls::routes(routes);
    crate::scenes::notices::routes(routes);
    crate::scenes::deliberations::routes(routes);
    crate::scenes::ledger_admin::routes(routes);
    crate::scenes::service_hours::routes(routes);
    crate::scenes::wallet::routes(routes);
    crate::scenes::merchants::routes(routes);
    crate::scenes::redemptions::routes(routes);
    crate::scenes::help_posts::routes(routes);
    crate::scenes::care::routes(routes);
    crate::scenes::settlements::routes(routes);
}

/// Operations endpoints, outside the versioned API.
fn operations(routes: &mut Routes<'_>) {
    crate::platform::ops::routes(routes);
}

/// Configures the whole app and returns the table of what it registered.
pub fn configure(config: &mut web::ServiceConfig, environment: Environment) -> Vec<(Method, String)> {
    let mut table = Vec::new();
    let mut ops = Routes { resources: Vec::new(), prefix: "", table: &mut table, environment };
    operations(&mut ops);
    for resource in ops.into_resources() {
        config.service(resource);
    }
    let mut api = Routes { resources: Vec::new(), prefix: "/api/v1", table: &mut table, environment };
    api_v1(&mut api);
    let mut scope = web::scope("/api/v1");
    for resource in api.into_resources() {
        scope = scope.service(resource);
    }
    config.service(scope);
    table
}

/// Every (method, path) the app serves in this environment, paths in OpenAPI form (`/x/{id}`).
pub fn route_table(environment: Environment) -> Vec<(String, String)> {
    let mut table = Vec::new();
    let _app = actix_web::App::new().configure(|config| table = configure(config, environment));
    table.into_iter().map(|(method, path)| (method.as_str().to_owned(), path)).collect()
}
