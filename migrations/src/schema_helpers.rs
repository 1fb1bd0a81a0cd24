//! Small builders the migrations share. Migrations that use them must keep producing the same schema,
//! so these are never changed once a migration using them has landed; a new shape is a new function.

use sea_orm_migration::prelude::*;

/// `fk_{from_table}_{column}`: `from_table.column` references `to_table.id`, deleted with it.
pub fn fk(from_table: &'static str, column: &'static str, to_table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{column}"))
        .from(from_table, column)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// `ix_{table}_{columns…}` over the columns in order.
pub fn index(table: &'static str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        statement.col(*column);
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}

/// Runs SQL statements, the same on both backends, one after another.
pub async fn run_sql(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// The `MigrationTrait` of a migration that is SQL alone, the same on both backends: `up` runs its
/// statements in order, and `down` the statements that undo them. The file still derives its
/// `Migration`'s name (`#[derive(DeriveMigrationName)] pub struct Migration;`), from its own name.
macro_rules! sql_migration {
    (up: [$($up:expr),+ $(,)?], down: [$($down:expr),+ $(,)?] $(,)?) => {
        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::schema_helpers::run_sql(manager, &[$($up),+]).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::schema_helpers::run_sql(manager, &[$($down),+]).await
            }
        }
    };
}
pub(crate) use sql_migration;
