//! 关爱 the care round: elderly people living alone and others registered (with consent) by the care
//! team, visited on a schedule by their assigned friendly visitors (友善访问员), watched by sensors whose
//! signed alerts open urgent visit tasks with an SLA, and escalated when a visit is missed or a task is
//! left unacknowledged.

pub mod dashboard;
pub mod error;
mod http;
pub mod jobs;
pub mod lifecycle;
pub mod service;
pub mod signing;
mod store;
pub mod tasks;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/care/recipients", http::register);
    routes.get("/care/recipients", http::list);
    routes.get("/care/recipients/{id}", http::detail);
    routes.post("/care/recipients/{id}/visitors", http::assign_visitor);
    routes.post("/care/recipients/{id}/devices", http::register_device);
    routes.post("/care/recipients/{id}/visits", http::log_visit);
    routes.get("/care/recipients/{id}/visits", http::visits);
    routes.post("/care/alerts", http::receive_alert);
    routes.get("/care/tasks", http::list_tasks);
    routes.post("/care/tasks/{id}/acknowledge", http::acknowledge);
    routes.post("/care/tasks/{id}/resolve", http::resolve);
    routes.get("/communities/{id}/care/dashboard", http::dashboard);
    routes.get("/communities/{id}/care/dashboard.csv", http::dashboard_csv);
}
