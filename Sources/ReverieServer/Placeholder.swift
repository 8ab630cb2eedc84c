enum ReverieServerPlaceholder {}
