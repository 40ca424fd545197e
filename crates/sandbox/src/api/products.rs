//! Products: `GET`/`POST /v1/user/products`, `GET`/`DELETE /v1/products/{id}`.

use axum::{Json, body::Bytes, extract::Path};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use webhook_demo_core::platform;

use crate::{
    auth::Caller,
    cloud::{Cloud, Product},
    error::ApiError,
    worlds::World,
};

#[derive(Deserialize)]
struct CreateBody {
    product: NewProduct,
}

#[derive(Deserialize)]
struct NewProduct {
    name: String,
    platform_id: u32,
}

pub(crate) async fn list(
    World(cloud): World,
    Caller(username): Caller,
) -> Result<Json<Value>, ApiError> {
    let cloud = crate::lock(&cloud);
    let products: Vec<Product> = cloud
        .products
        .iter()
        .filter(|p| p.user == username)
        .map(|p| with_count(&cloud, p))
        .collect();
    Ok(Json(json!({"products": products})))
}

pub(crate) async fn create(
    World(shared): World,
    Caller(username): Caller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let CreateBody { product: new } = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Expected {{\"product\": {{\"name\", \"platform_id\"}}}}: {e}"
        ))
    })?;
    let name = new.name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("Product name can't be blank"));
    }
    if !platform::find(new.platform_id).is_some_and(|p| p.product_eligible) {
        let which = platform::name(new.platform_id);
        return Err(ApiError::bad_request(format!(
            "Products cannot be created for platform {which}"
        )));
    }
    let limits = &shared.settings.limits;
    let mut cloud = crate::lock(&shared);
    if cloud
        .products
        .iter()
        .any(|p| p.user == username && p.name.eq_ignore_ascii_case(name))
    {
        return Err(ApiError::bad_request(format!(
            "A product named {name:?} already exists"
        )));
    }
    let owned = cloud.products.iter().filter(|p| p.user == username).count();
    if owned >= limits.products_per_user {
        return Err(ApiError::bad_request(format!(
            "An account owns at most {} products; delete one first",
            limits.products_per_user
        )));
    }
    if cloud.products.len() >= limits.products {
        return Err(ApiError::unavailable(
            "The sandbox holds as many products as it can; try again later",
        ));
    }
    let id = cloud.next_product_id;
    cloud.next_product_id += 1;
    let slug = format!("{}-v{id}", slugify(name));
    let product = Product {
        id,
        name: name.to_owned(),
        slug,
        platform_id: new.platform_id,
        description: String::new(),
        user: username,
        settings: Map::new(),
        groups: Vec::new(),
        device_count: 0,
    };
    cloud.products.push(product.clone());
    Ok(Json(json!({"ok": true, "product": product})))
}

pub(crate) async fn get(
    World(cloud): World,
    Path(id): Path<String>,
    Caller(username): Caller,
) -> Result<Json<Value>, ApiError> {
    let cloud = crate::lock(&cloud);
    let product = owned(&cloud, &id, &username)?;
    Ok(Json(json!({"product": with_count(&cloud, product)})))
}

pub(crate) async fn delete(
    World(cloud): World,
    Path(id): Path<String>,
    Caller(username): Caller,
) -> Result<Json<Value>, ApiError> {
    let mut cloud = crate::lock(&cloud);
    let product = with_count(&cloud, owned(&cloud, &id, &username)?);
    if product.device_count > 0 {
        return Err(ApiError::bad_request(format!(
            "Product {} still has {} device(s); remove them first",
            product.id, product.device_count
        )));
    }
    let integrations = cloud
        .integrations
        .iter()
        .filter(|i| i.product_id == Some(product.id))
        .count();
    if integrations > 0 {
        return Err(ApiError::bad_request(format!(
            "Product {} still has {integrations} integration(s); delete them first",
            product.id
        )));
    }
    cloud.products.retain(|p| p.id != product.id);
    Ok(Json(json!({"ok": true})))
}

/// The product with this id (or slug) if the caller owns it: 404 unknown, 403 someone else's.
pub(super) fn owned<'a>(
    cloud: &'a Cloud,
    id: &str,
    username: &str,
) -> Result<&'a Product, ApiError> {
    let product = cloud
        .products
        .iter()
        .find(|p| p.id.to_string() == id || p.slug == id)
        .ok_or_else(|| ApiError::not_found(format!("Product {id} was not found")))?;
    if product.user != username {
        return Err(ApiError::forbidden(format!(
            "You do not have access to product {id}"
        )));
    }
    Ok(product)
}

fn with_count(cloud: &Cloud, product: &Product) -> Product {
    let device_count = cloud
        .devices
        .iter()
        .filter(|d| d.product_id == product.id)
        .count();
    Product {
        device_count,
        ..product.clone()
    }
}

fn slugify(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}
