enum ReverieModelsPlaceholder {}
